"""Training losses on predicted zeros: MSE, spacing NLL, MMD to a spacing law; all via core's combine_losses.

Predicted spacings are formed only between nodes whose zero indices are consecutive *inside the
batch* (a mini-batch of a partitioned graph holds several contiguous runs; a difference across
a gap between runs is not a spacing) and unfolded with the local density log(t/2π)/(2π) at each
pair, never by a batch mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from labkit.core import LossResult, combine_losses
from labkit.zeta_gnn.spectral import SpacingLaw

__all__ = [
    "SpacingLoss",
    "contiguous_pairs",
    "law_nll",
    "mmd",
    "unfolded_pred_spacings",
    "wigner_nll",
]

_LOG_C = math.log(32.0 / math.pi**2)


def contiguous_pairs(index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions (a, b) in a batch with index[b] == index[a] + 1 (``index``: global zero indices).

    Example:
        >>> a, b = contiguous_pairs(torch.tensor([7, 3, 4, 8, 10]))
        >>> sorted(zip(a.tolist(), b.tolist()))
        [(0, 3), (1, 2)]
    """
    order = torch.argsort(index)
    s = index[order]
    ok = (s[1:] - s[:-1]) == 1
    return order[:-1][ok], order[1:][ok]


def unfolded_pred_spacings(t_pred: torch.Tensor, index: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    """(t̂_b − t̂_a)·ρ_a over the contiguous pairs; ``density`` is ρ = log(t/2π)/(2π) per node."""
    a, b = contiguous_pairs(index)
    return (t_pred[b] - t_pred[a]) * density[a]


def wigner_nll(s: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Mean −log p(s) under the GUE surmise p(s) = 32/π² s² exp(−4s²/π)."""
    s = s.clamp_min(eps)
    return -(_LOG_C + 2.0 * torch.log(s) - 4.0 * s**2 / math.pi).mean()


def law_nll(s: torch.Tensor, law: SpacingLaw, floor: float = 1e-6) -> torch.Tensor:
    """Mean −log p(s) for a tabulated law (linear interpolation, differentiable in s)."""
    grid = torch.as_tensor(law.grid, dtype=s.dtype, device=s.device)
    logp = torch.log(torch.as_tensor(law.pdf, dtype=s.dtype, device=s.device).clamp_min(floor))
    return _table_nll(s, grid, logp)


def _table_nll(s: torch.Tensor, grid: torch.Tensor, logp: torch.Tensor) -> torch.Tensor:
    x = s.clamp(grid[0], grid[-1])
    i = torch.clamp(torch.searchsorted(grid, x.detach()) - 1, 0, grid.numel() - 2)
    w = (x - grid[i]) / (grid[i + 1] - grid[i])
    return -((1 - w) * logp[i] + w * logp[i + 1]).mean()


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidths: tuple[float, ...] = (0.1, 0.3)) -> torch.Tensor:
    """Unbiased squared MMD between 1-D samples with a sum of Gaussian kernels (vectorised).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> bool(mmd(torch.randn(400, generator=g), torch.randn(400, generator=g)).abs() < 0.01)
        True
    """
    def k(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        d2 = (a[:, None] - b[None, :]) ** 2
        return sum(torch.exp(-d2 / (2 * h * h)) for h in bandwidths)  # type: ignore[return-value]

    n, m = x.numel(), y.numel()
    if n < 2 or m < 2:
        return x.new_zeros(())
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
            - 2 * kxy.mean())


class SpacingLoss:
    """``loss(pred, target, t_pred=, index=, density=, rng=) -> LossResult`` with mse, nll, mmd parts.

    ``law`` is the spacing law the NLL and MMD pull towards ("wigner" uses the closed form for
    the NLL); ``weights`` are core's combine_losses weights (0 drops a term's gradient, but it
    is still logged). ``mmd_samples`` caps the pairs used for MMD (its cost is quadratic).
    """

    def __init__(self, law: SpacingLaw, weights: Mapping[str, float], mmd_samples: int = 256) -> None:
        self.law, self.weights, self.mmd_samples = law, dict(weights), int(mmd_samples)
        self._tables: dict[tuple[str, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def wants_distribution(self) -> bool:
        """Whether the NLL or MMD term has a weight (else no spacing statistics are computed)."""
        return self.weights.get("nll", 0.0) > 0 or self.weights.get("mmd", 0.0) > 0

    def draw(self, n_spacings: int, rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray] | None:
        """The MMD's random draws for ``n_spacings`` predicted spacings: (positions of the subsample, or
        None for all of them; the reference sample of the law); None when no distribution term is computed.

        ``__call__`` draws them itself; a training loop may draw them ahead (on the host, while the
        device computes) and pass them as ``draws``: the same draws give the same loss.

        Example:
            >>> from labkit.zeta_gnn.spectral import spacing_law
            >>> loss = SpacingLoss(spacing_law("wigner"), {"mse": 1.0, "mmd": 0.1}, mmd_samples=4)
            >>> idx, ref = loss.draw(10, np.random.default_rng(0))
            >>> idx.shape, ref.shape
            ((4,), (4,))
        """
        if n_spacings < 2 or not self.wants_distribution:
            return None
        idx = rng.choice(n_spacings, self.mmd_samples, replace=False) if n_spacings > self.mmd_samples else None
        return idx, self.law.sample(n_spacings if idx is None else idx.size, rng)

    def _nll(self, s: torch.Tensor) -> torch.Tensor:
        if self.law.name == "wigner":
            return wigner_nll(s)
        key = (str(s.device), s.dtype)
        if key not in self._tables:  # the law's table moves to the device once, not every step
            grid = torch.as_tensor(self.law.grid, dtype=s.dtype, device=s.device)
            self._tables[key] = (grid, torch.log(torch.as_tensor(self.law.pdf, dtype=s.dtype, device=s.device)
                                                 .clamp_min(1e-6)))
        return _table_nll(s, *self._tables[key])

    def __call__(self, pred: torch.Tensor, target: torch.Tensor, /, *, t_pred: torch.Tensor | None = None,
                 index: torch.Tensor | None = None, density: torch.Tensor | None = None,
                 spacings: torch.Tensor | None = None, rng: np.random.Generator | None = None,
                 extra: Mapping[str, torch.Tensor] | None = None,
                 draws: tuple[Any, Any] | None = None) -> LossResult:
        """Combine the terms; spacings come from ``spacings`` or from (t_pred, index, density).

        ``draws``: the MMD draws of :meth:`draw` for these spacings (arrays or tensors), else drawn from ``rng``.
        """
        terms: dict[str, torch.Tensor] = {"mse": torch.mean((pred - target) ** 2)}
        if spacings is None and t_pred is not None and index is not None and density is not None:
            spacings = unfolded_pred_spacings(t_pred, index, density)
        if spacings is not None and spacings.numel() >= 2 and self.wants_distribution:
            if draws is None:
                draws = self.draw(spacings.numel(), rng if rng is not None else np.random.default_rng(0))
            assert draws is not None
            terms["nll"] = self._nll(spacings)
            idx, ref = draws
            sub = spacings if idx is None else spacings[torch.as_tensor(idx, device=spacings.device)]
            terms["mmd"] = mmd(sub, torch.as_tensor(ref, dtype=sub.dtype, device=sub.device))
        terms.update(extra or {})
        weights = {k: v for k, v in self.weights.items() if k in terms}
        return combine_losses(terms, weights)
