"""Tensor trains: Oseledets' TT-SVD with its error guarantee, rounding, a jit-able fixed-rank path.

``tt_svd(A, tol=ε)`` cuts each of the d−1 unfoldings at δ = ε/√(d−1)·‖A‖_F on orthonormalised
factors (Oseledets 2011, Thm 2.2), so ‖A − TT‖_F ≤ ε‖A‖_F whenever ``max_rank`` does not bind.
The chosen ranks depend on the data, so that step runs eagerly (outside ``jit``); once ranks are
known, :func:`tt_svd_fixed` is a pure function of the tensor with static ranks and can be jitted.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import jax
import numpy as np
import numpy.typing as npt

from labkit.son_qttn._errors import check_int_at_least, check_positive

Core: TypeAlias = np.ndarray | jax.Array
"""One TT core: numpy from the eager :func:`tt_svd`/:func:`tt_round`, JAX from :func:`tt_svd_fixed`."""

_PRECISION_MARGIN = 100
"""``tt_svd`` warns when ``tol`` < this many machine epsilons of the data's dtype: below it, rounding
error of the SVDs and of the contraction is of the size of the tolerance, so the bound is not certified."""


@dataclass(frozen=True)
class TT:
    """A tensor train: cores G_k of shape (r_{k−1}, n_k, r_k) with r_0 = r_d = 1.

    Attributes:
        cores: the TT cores (JAX or numpy arrays).
        error_bound: the certified bound on ‖A − TT‖_F (sqrt of the summed squared discarded
            singular values), or ``nan`` when unknown.
        singular_values: the full spectrum (float64, descending) of each of the d−1 unfoldings as
            the decomposition cut it: unfolding k after the truncations of unfoldings 1..k−1 (the
            exact spectra of the tensor's unfoldings when nothing was cut before). Empty when unknown.

    Example:
        >>> import numpy as np
        >>> tt = tt_svd(np.ones((2, 3, 4)), tol=1e-4)
        >>> tt.ranks, tt.enlarges
        ((1, 1, 1, 1), False)
        >>> [round(float(s[0]), 6) for s in tt.singular_values]  # ‖ones‖_F = sqrt(24)
        [4.898979, 4.898979]
    """

    cores: tuple[Core, ...]
    error_bound: float = float("nan")
    singular_values: tuple[np.ndarray, ...] = ()

    @property
    def ranks(self) -> tuple[int, ...]:
        """TT ranks including the boundary 1s: (1, r_1, ..., r_{d−1}, 1)."""
        return (1, *tuple(int(c.shape[2]) for c in self.cores))

    @property
    def shape(self) -> tuple[int, ...]:
        """Mode sizes (n_1, ..., n_d)."""
        return tuple(int(c.shape[1]) for c in self.cores)

    @property
    def n_params(self) -> int:
        """Number of stored numbers, Σ_k r_{k−1} n_k r_k."""
        return int(sum(int(np.prod(c.shape)) for c in self.cores))

    @property
    def compression_ratio(self) -> float:
        """Full tensor size divided by :attr:`n_params` (below 1: the train is larger than the data)."""
        return float(np.prod(self.shape)) / self.n_params

    @property
    def enlarges(self) -> bool:
        """True when the train stores more numbers than the full tensor (no compression at all)."""
        return self.n_params > int(np.prod(self.shape))

    def full(self, max_rank: int | None = None) -> np.ndarray | jax.Array:
        """Contract the train back to the full tensor, optionally with every rank capped at ``max_rank``.

        Numpy cores are contracted in numpy at their dtype (float64 stays float64 whatever JAX's
        x64 setting); JAX cores in JAX at JAX's precision. ``max_rank`` recompresses first
        (:func:`tt_round`, optimal rank-capped truncation of each unfolding), then contracts.

        Example:
            >>> import numpy as np
            >>> a = np.random.default_rng(0).random((4, 4, 4))
            >>> t = tt_svd(a, tol=1e-12)
            >>> t.full().dtype, t.full(max_rank=1).shape
            (dtype('float64'), (4, 4, 4))
        """
        if max_rank is not None:
            return tt_round(self, tol=_TINY, max_rank=max_rank).full()
        return tt_full(self.cores)


_TINY = float(np.finfo(np.float64).tiny)  # a tolerance that never binds: the rank cap alone decides


def tt_full(cores: Sequence[Core]) -> np.ndarray | jax.Array:
    """Contract TT cores into the full tensor (left-to-right matrix products).

    All-numpy cores are contracted in numpy at their dtype; otherwise in JAX (jit-able).
    """
    if all(isinstance(c, np.ndarray) for c in cores):
        out_np = cores[0].reshape(cores[0].shape[1], cores[0].shape[2])
        for c in cores[1:]:
            out_np = (out_np @ c.reshape(c.shape[0], -1)).reshape(-1, c.shape[2])
        return out_np.reshape(tuple(int(c.shape[1]) for c in cores))
    import jax.numpy as jnp

    out = jnp.asarray(cores[0]).reshape(cores[0].shape[1], cores[0].shape[2])
    for c in cores[1:]:
        out = out @ jnp.asarray(c).reshape(c.shape[0], -1)
        out = out.reshape(-1, c.shape[2])
    return out.reshape(tuple(int(c.shape[1]) for c in cores))


def _check_tensor(tensor: npt.ArrayLike) -> np.ndarray:
    import jax.numpy as jnp

    a = np.asarray(tensor)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(jnp.result_type(float))  # follows the caller's JAX precision
    if a.ndim < 1 or a.size == 0:
        raise ValueError(f"tensor: must be a non-empty array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("tensor: contains NaN or infinite entries")
    return a


def _rank_for(s: np.ndarray, delta: float, max_rank: int | None) -> tuple[int, float]:
    """Smallest r with sqrt(Σ_{k≥r} s_k²) ≤ delta (capped), and the discarded norm²."""
    tails = np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]])  # tails[r] = Σ_{k≥r} s_k²
    r = int(np.argmax(tails <= delta**2))
    r = max(r, 1)
    if max_rank is not None:
        r = min(r, max_rank)
    return r, float(tails[r])


def tt_svd(tensor: npt.ArrayLike, tol: float = 1e-6, max_rank: int | None = None) -> TT:
    """TT-SVD of ``tensor`` with relative Frobenius tolerance ``tol`` (Oseledets 2011).

    Guarantee: ``‖tensor − tt.full()‖_F <= tol·‖tensor‖_F`` unless ``max_rank`` binds;
    ``tt.error_bound`` always holds the certified absolute bound actually achieved. The cores keep
    the data's dtype (float64 data stays float64, whatever JAX's x64 setting). The bound is exact
    arithmetic: a ``tol`` below 100 machine epsilons of the data's dtype (float32: ~1.2e-5) is
    warned about, since rounding error is that large; pass float64 data for smaller tolerances.
    ``tt.singular_values`` holds each unfolding's spectrum; ``tt.enlarges`` says whether the
    train is larger than the data (noise, or a tolerance too tight for the data's structure).

    Example:
        >>> import numpy as np
        >>> x = np.sin(np.linspace(0, 3, 1024)).reshape((2,) * 10)
        >>> tt_svd(x, tol=1e-4).ranks
        (1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1)
    """
    check_positive("tol", tol)
    if max_rank is not None:
        check_int_at_least("max_rank", max_rank, 1)
    # eager LAPACK on the host: ranks are data-dependent, and eager jnp ops would compile
    # once per new shape, i.e. once per new rank pattern
    a = _check_tensor(tensor)
    floor = _PRECISION_MARGIN * float(np.finfo(a.dtype).eps)
    if tol < floor:
        remedy = "use a larger tol" if a.dtype == np.float64 else "pass float64 data"
        warnings.warn(f"tt_svd: tol={tol:g} is below what {a.dtype} data can certify (~{floor:.1g}, 100 machine "
                      f"epsilons): the bound ‖A − TT‖_F <= tol·‖A‖_F may not hold; {remedy}",
                      RuntimeWarning, stacklevel=2)
    shape = a.shape
    d = len(shape)
    norm = float(np.linalg.norm(a.ravel()))
    delta = tol * norm / math.sqrt(max(d - 1, 1))
    cores, spectra, r_prev, discarded = [], [], 1, 0.0
    c = a.reshape(1, -1)
    for k in range(d - 1):
        c = c.reshape(r_prev * shape[k], -1)
        u, s, vt = np.linalg.svd(c, full_matrices=False)
        spectra.append(s.astype(np.float64))
        r, tail = _rank_for(spectra[-1], delta, max_rank)
        discarded += tail
        cores.append(u[:, :r].reshape(r_prev, shape[k], r))
        c = s[:r, None] * vt[:r]
        r_prev = r
    cores.append(c.reshape(r_prev, shape[-1], 1))
    return TT(tuple(cores), error_bound=math.sqrt(discarded), singular_values=tuple(spectra))


@functools.partial(jax.jit, static_argnames=("ranks",))
def tt_svd_fixed(tensor: Core, ranks: tuple[int, ...]) -> tuple[jax.Array, ...]:
    """Jit-compiled TT-SVD at fixed interior ranks (r_1..r_{d−1}); returns the core tuple.

    Example:
        >>> import numpy as np
        >>> cores = tt_svd_fixed(np.ones((2, 2, 2)), ranks=(1, 1))
        >>> [c.shape for c in cores]
        [(1, 2, 1), (1, 2, 1), (1, 2, 1)]
    """
    import jax.numpy as jnp

    shape = tensor.shape
    if len(ranks) != len(shape) - 1:
        raise ValueError(f"ranks: need {len(shape) - 1} interior ranks, got {len(ranks)}")
    cores, r_prev = [], 1
    c = jnp.asarray(tensor)
    for k, r in enumerate(ranks):
        c = c.reshape(r_prev * shape[k], -1)
        r = min(r, *c.shape)
        u, s, vt = jnp.linalg.svd(c, full_matrices=False)
        cores.append(u[:, :r].reshape(r_prev, shape[k], r))
        c = s[:r, None] * vt[:r]
        r_prev = r
    cores.append(c.reshape(r_prev, shape[-1], 1))
    return tuple(cores)


def tt_round(tt: TT, tol: float = 1e-6, max_rank: int | None = None) -> TT:
    """Recompress a TT (right-to-left QR, then left-to-right truncated SVDs, same δ rule).

    The new error bound is relative to ‖tt‖_F and adds to ``tt.error_bound`` (triangle inequality).

    Example:
        >>> import numpy as np
        >>> t = tt_svd(np.random.default_rng(0).random((3, 4, 5)), tol=1e-12)
        >>> tt_round(t, max_rank=1).ranks
        (1, 1, 1, 1)
    """
    check_positive("tol", tol)
    if max_rank is not None:
        check_int_at_least("max_rank", max_rank, 1)
    cores = [np.asarray(c) for c in tt.cores]
    d = len(cores)
    for k in range(d - 1, 0, -1):  # right-orthogonalise so the left SVDs see true singular values
        r0, n, r1 = cores[k].shape
        q, rr = np.linalg.qr(cores[k].reshape(r0, n * r1).T)
        cores[k] = q.T.reshape(-1, n, r1)
        cores[k - 1] = np.einsum("anb,bc->anc", cores[k - 1], rr.T)
    norm = float(np.linalg.norm(cores[0].ravel()))
    delta = tol * norm / math.sqrt(max(d - 1, 1))
    discarded = 0.0
    spectra = []
    for k in range(d - 1):
        r0, n, r1 = cores[k].shape
        u, s, vt = np.linalg.svd(cores[k].reshape(r0 * n, r1), full_matrices=False)
        spectra.append(s.astype(np.float64))
        r, tail = _rank_for(spectra[-1], delta, max_rank)
        discarded += tail
        cores[k] = u[:, :r].reshape(r0, n, r)
        cores[k + 1] = np.einsum("ab,bnc->anc", s[:r, None] * vt[:r], cores[k + 1])
    prev = 0.0 if math.isnan(tt.error_bound) else tt.error_bound
    return TT(tuple(cores), error_bound=prev + math.sqrt(discarded), singular_values=tuple(spectra))
