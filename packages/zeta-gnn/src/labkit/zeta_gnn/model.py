"""Node features, targets and the GCN: an MLP encoder followed by two GCNConv layers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from labkit.zeta_gnn.baseline import density, smooth_zeros

__all__ = ["TARGETS", "ZetaGCN", "check_finite", "index_features", "spacing_features"]

TARGETS = ("residual", "ordinate", "spacing")


def check_finite(name: str, x: np.ndarray) -> np.ndarray:
    """Raise ValueError naming ``name`` and the first bad row if ``x`` holds NaN or inf."""
    bad = ~np.isfinite(x)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{name}: non-finite value at row {row} ({x.reshape(x.shape[0], -1)[row].tolist()})")
    return x


def index_features(n: np.ndarray, primes: Sequence[int], n_max: float) -> np.ndarray:
    """Features of zero index n only: log n, t̃_n/t̃_max, log ρ(t̃_n), and cos/sin(2π n/p) per prime.

    The residue features let the network use any arithmetic periodicity the adelic edges hint
    at; the smooth height and density are what the baseline knows, so the model starts level
    with it. Continuous in n, so coarse-grained nodes (n = block centre) get features too.

    Example:
        >>> index_features(np.array([1.0, 2.0]), (2,), 2.0).shape
        (2, 5)
    """
    n = np.asarray(n, dtype=np.float64)
    t = smooth_zeros(n)
    cols = [np.log(n) / np.log(max(n_max, 2.0)), t / smooth_zeros(np.array([max(n_max, 1.0)]))[0],
            np.log(density(np.maximum(t, 7.0)))]
    for p in primes:
        cols += [np.cos(2 * np.pi * n / p), np.sin(2 * np.pi * n / p)]
    return check_finite("features", np.stack(cols, axis=1))


def spacing_features(s: np.ndarray, lags: int, n: np.ndarray, n_max: float) -> np.ndarray:
    """For node i: log n and the previous ``lags`` unfolded spacings s_{i-lags..i-1} (0-padded at the start).

    Paired with causal edges, no node ever sees s_i (its own target) or anything later.
    """
    padded = np.concatenate([np.ones(lags), s])  # missing history reads as the mean spacing
    cols = [padded[lags - k : lags - k + s.size] - 1.0 for k in range(1, lags + 1)]
    cols.append(np.log(np.asarray(n, dtype=np.float64)) / np.log(max(n_max, 2.0)))
    return check_finite("features", np.stack(cols, axis=1))


class ZetaGCN(nn.Module):
    """MLP(in → hidden → hidden) then GCNConv(hidden → hidden) → GCNConv(hidden → 1), plus a linear skip.

    The skip lets the network reduce to an MLP on the features (so the graph can only help);
    edge weights are given (GCN-normalised by the caller, ``normalize=False``) so that
    Cluster-GCN batches use their own subgraph normalisation.

    Example:
        >>> m = ZetaGCN(5, hidden=8)
        >>> m(torch.zeros(3, 5), torch.tensor([[0, 1, 2], [0, 1, 2]]), torch.ones(3)).shape
        torch.Size([3])
    """

    hops = 2
    """Message-passing layers: a node's prediction depends on the nodes within this many edges."""

    def __init__(self, in_features: int, hidden: int = 128, dropout: float = 0.0) -> None:
        from torch_geometric.nn import GCNConv

        super().__init__()
        if in_features < 1 or hidden < 1:
            raise ValueError(f"in_features and hidden must be >= 1, got {in_features}, {hidden}")
        self.mlp = nn.Sequential(nn.Linear(in_features, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU())
        self.conv1 = GCNConv(hidden, hidden, normalize=False, add_self_loops=False)
        self.conv2 = GCNConv(hidden, 1, normalize=False, add_self_loops=False)
        self.skip = nn.Linear(hidden, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        """Per-node scalar prediction (standardised target units); ``edge_index`` may be a weighted sparse adjacency."""
        h = self.mlp(x)
        g = torch.nn.functional.gelu(self.conv1(self.dropout(h), edge_index, edge_weight))
        return (self.conv2(g, edge_index, edge_weight) + self.skip(h)).squeeze(-1)
