"""The adelic graph on zero indices, built vectorised, with GCN normalisation and its ablations.

Nodes are consecutive zero indices. Edges: the path (i, i+1); for every prime p, consecutive
members of one residue class mod p, which are exactly the pairs (i, i+p); self loops; both
directions. Everything is a fixed set of offsets, so the edge list is a few ``np.arange`` calls:
1M nodes and the default primes (13M directed edges) take well under a second.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

__all__ = [
    "DEFAULT_PRIMES",
    "adelic_edges",
    "adelic_edges_bruteforce",
    "causal",
    "check_primes",
    "coarsen",
    "gcn_norm",
    "random_matched_edges",
]

DEFAULT_PRIMES: tuple[int, ...] = (2, 3, 5, 7, 11)


def check_primes(primes: Sequence[int]) -> tuple[int, ...]:
    """Validate a list of distinct primes; returns them sorted."""
    out = []
    for p in primes:
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 2 or any(p % q == 0 for q in range(2, int(p**0.5) + 1)):
            raise ValueError(f"primes: every entry must be a prime >= 2, got {p!r}")
        out.append(int(p))
    if len(set(out)) != len(out):
        raise ValueError(f"primes: entries must be distinct, got {list(primes)}")
    return tuple(sorted(out))


def adelic_edges(n_nodes: int, primes: Sequence[int] = DEFAULT_PRIMES, *, self_loops: bool = True) -> np.ndarray:
    """Directed edge list (2, E) int64 of the adelic graph on ``n_nodes`` consecutive indices.

    Example:
        >>> adelic_edges(4, (2,), self_loops=False).T.tolist()
        [[0, 1], [1, 2], [2, 3], [0, 2], [1, 3], [1, 0], [2, 1], [3, 2], [2, 0], [3, 1]]
    """
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) or n_nodes < 1:
        raise ValueError(f"n_nodes: must be an integer >= 1, got {n_nodes!r}")
    offsets = (1, *check_primes(primes))
    src = [np.arange(n_nodes - d, dtype=np.int64) for d in offsets if d < n_nodes]
    dst = [s + d for s, d in zip(src, offsets, strict=False)]
    fwd_src, fwd_dst = np.concatenate(src or [np.empty(0, np.int64)]), np.concatenate(dst or [np.empty(0, np.int64)])
    parts_src, parts_dst = [fwd_src, fwd_dst], [fwd_dst, fwd_src]
    if self_loops:
        loop = np.arange(n_nodes, dtype=np.int64)
        parts_src.append(loop)
        parts_dst.append(loop)
    return np.stack([np.concatenate(parts_src), np.concatenate(parts_dst)])


def adelic_edges_bruteforce(n_nodes: int, primes: Sequence[int] = DEFAULT_PRIMES, *, start: int = 1) -> set[tuple[int, int]]:
    """Reference construction straight from the definition (loops; small N only), as a set of pairs."""
    edges: set[tuple[int, int]] = set()
    for i in range(n_nodes - 1):
        edges |= {(i, i + 1), (i + 1, i)}
    for p in primes:
        for r in range(p):
            members = [i for i in range(n_nodes) if (i + start) % p == r]
            for a, b in itertools.pairwise(members):
                edges |= {(a, b), (b, a)}
    edges |= {(i, i) for i in range(n_nodes)}
    return edges


def gcn_norm(edge_index: np.ndarray, n_nodes: int) -> np.ndarray:
    """Symmetric GCN weights w_ij = 1/sqrt(deg_i deg_j), degrees counted over ``edge_index`` (self loops included).

    Example:
        >>> gcn_norm(adelic_edges(2, ()), 2).round(3).tolist()
        [0.5, 0.5, 0.5, 0.5]
    """
    deg = np.bincount(edge_index[1], minlength=n_nodes).astype(np.float64)
    inv = np.zeros_like(deg)
    np.divide(1.0, np.sqrt(deg), out=inv, where=deg > 0)
    return inv[edge_index[0]] * inv[edge_index[1]]


def random_matched_edges(
    n_nodes: int, primes: Sequence[int] = DEFAULT_PRIMES, *, seed: int = 0, self_loops: bool = True
) -> np.ndarray:
    """Ablation graph: path edges kept, prime edges replaced by a degree-matched random graph.

    The endpoints ("stubs") of the undirected prime edges are shuffled and re-paired
    (configuration model), so every node keeps its prime-edge degree; the few self pairs and
    duplicates this creates are dropped.
    """
    offsets = check_primes(primes)
    path = np.arange(n_nodes - 1, dtype=np.int64)
    stubs_a = np.concatenate([np.arange(n_nodes - p, dtype=np.int64) for p in offsets if p < n_nodes] or [np.empty(0, np.int64)])
    stubs_b = np.concatenate([np.arange(p, n_nodes, dtype=np.int64) for p in offsets if p < n_nodes] or [np.empty(0, np.int64)])
    stubs = np.random.default_rng(seed).permutation(np.concatenate([stubs_a, stubs_b]))
    a, b = stubs[0::2], stubs[1::2]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    pairs = np.unique(np.stack([lo[keep], hi[keep]]), axis=1)
    # never duplicate a path edge
    pairs = pairs[:, pairs[1] - pairs[0] != 1]
    src = np.concatenate([path, pairs[0]])
    dst = np.concatenate([path + 1, pairs[1]])
    parts = [np.stack([src, dst]), np.stack([dst, src])]
    if self_loops:
        loop = np.arange(n_nodes, dtype=np.int64)
        parts.append(np.stack([loop, loop]))
    return np.concatenate(parts, axis=1)


def coarsen(edge_index: np.ndarray, n_nodes: int, factor: int = 2) -> tuple[np.ndarray, int]:
    """Quotient graph of blocks {factor*i .. factor*i+factor-1}: an edge wherever a fine edge crosses.

    Returns (edge_index of the coarse graph with self loops, number of coarse nodes).
    """
    if factor < 2:
        raise ValueError(f"factor: must be >= 2, got {factor}")
    n_coarse = -(-n_nodes // factor)
    c = edge_index // factor
    key = np.unique(c[0] * n_coarse + c[1])
    return np.stack([key // n_coarse, key % n_coarse]), n_coarse


def causal(edge_index: np.ndarray) -> np.ndarray:
    """Keep only messages from lower to higher (or equal) index: no node sees its future."""
    return edge_index[:, edge_index[0] <= edge_index[1]]
