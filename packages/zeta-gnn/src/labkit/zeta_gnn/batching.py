"""Cluster-GCN mini-batches: METIS (pymetis) or contiguous-block partitions, cached, and their subgraphs.

PyG's ``ClusterData`` needs pyg-lib or torch-sparse for METIS; neither installs here, so the
partition comes from ``pymetis.part_graph`` and each batch (a union of clusters, redrawn every
epoch as in Chiang et al. 2019) is cut out with numpy, every batch of an epoch in one pass.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["PARTITIONERS", "Batch", "cluster_batches", "contiguous_parts", "metis_parts", "partition", "spacing_survival"]

PARTITIONERS = ("metis", "contiguous")


def contiguous_parts(n_nodes: int, n_parts: int) -> np.ndarray:
    """Part id of each node for ``n_parts`` equal blocks of consecutive indices.

    Example:
        >>> contiguous_parts(5, 2).tolist()
        [0, 0, 0, 1, 1]
    """
    return (np.arange(n_nodes, dtype=np.int64) * n_parts) // n_nodes


def metis_parts(edge_index: np.ndarray, n_nodes: int, n_parts: int, seed: int = 0) -> np.ndarray:
    """METIS k-way partition of the undirected graph (self loops dropped) via pymetis."""
    import pymetis

    e = edge_index[:, edge_index[0] != edge_index[1]]
    order = np.lexsort((e[1], e[0]))
    src, dst = e[0][order], e[1][order]
    xadj = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n_nodes))]).astype(np.int64)
    opts = pymetis.Options(seed=seed)
    result = pymetis.part_graph(n_parts, pymetis.CSRAdjacency(xadj, dst.astype(np.int64)), options=opts)
    return np.asarray(result.vertex_part, dtype=np.int64)


def partition(edge_index: np.ndarray, n_nodes: int, n_parts: int, method: str = "metis", *,
              cache_dir: str | os.PathLike[str] | None = None, seed: int = 0) -> np.ndarray:
    """Part id per node; METIS results are cached under ``cache_dir`` keyed by a hash of the graph."""
    if method not in PARTITIONERS:
        raise ValueError(f"method: must be one of {PARTITIONERS}, got {method!r}")
    if not 1 <= n_parts <= n_nodes:
        raise ValueError(f"n_parts: must be in 1..{n_nodes}, got {n_parts}")
    if method == "contiguous" or n_parts == 1:
        return contiguous_parts(n_nodes, n_parts)
    path = None
    if cache_dir is not None:
        digest = hashlib.sha256(np.ascontiguousarray(edge_index).tobytes()).hexdigest()[:16]
        path = Path(cache_dir) / f"metis_{n_nodes}_{n_parts}_{seed}_{digest}.npy"
        if path.exists():
            try:
                parts = np.load(path)
                if parts.shape == (n_nodes,):
                    return parts
            except (ValueError, OSError):
                pass  # unreadable: recompute and overwrite
    parts = metis_parts(edge_index, n_nodes, n_parts, seed)
    if path is not None:
        from labkit.core import atomic_write_bytes

        buf = io.BytesIO()
        np.save(buf, parts)
        atomic_write_bytes(path, buf.getvalue())
    return parts


@dataclass
class Batch:
    """Global node ids of one batch and its subgraph (local indices, GCN-normalised weights)."""

    nodes: np.ndarray
    edge_index: np.ndarray
    edge_weight: np.ndarray


def cluster_batches(parts: np.ndarray, edge_index: np.ndarray, clusters_per_batch: int,
                    rng: np.random.Generator, keep: set[int] | None = None) -> Iterator[Batch | None]:
    """Shuffle the clusters, group ``clusters_per_batch`` at a time, yield each group's induced subgraph.

    Every node lands in exactly one batch per epoch. Edges between clusters of different batches
    are dropped (the Cluster-GCN approximation); the subgraph is renormalised on its own degrees.
    A batch's nodes are sorted and its edges keep their order in ``edge_index``. With ``keep``,
    only batches of those positions are yielded (``None`` for the others: one rank of several
    uses only its own). All batches of the epoch are cut out at once (one pass over the edges).

    Example:
        >>> [(b.nodes.tolist(), b.edge_index.tolist()) for b in cluster_batches(
        ...     np.array([0, 0, 1, 1]), np.array([[0, 1, 2], [1, 2, 3]]), 1, np.random.default_rng(0))]
        [([0, 1], [[0], [1]]), ([2, 3], [[0], [1]])]
    """
    from labkit.zeta_gnn.graph import gcn_norm

    n_parts = int(parts.max()) + 1
    n_batches = -(-n_parts // clusters_per_batch)
    batch_of = np.empty(n_parts, dtype=np.int64)
    batch_of[rng.permutation(n_parts)] = np.arange(n_parts) // clusters_per_batch  # batch b: clusters perm[b*c:(b+1)*c]
    node_batch = batch_of[parts]
    node_order = np.argsort(node_batch, kind="stable")  # batch 0's nodes ascending, then batch 1's, ...
    node_bounds = np.searchsorted(node_batch[node_order], np.arange(n_batches + 1))
    local = np.empty(parts.size, dtype=np.int64)  # a node's position among its batch's sorted nodes
    local[node_order] = np.arange(parts.size) - np.repeat(node_bounds[:-1], np.diff(node_bounds))
    # few batches: small integers sort stably by radix, in linear time
    node_batch = node_batch.astype(np.int16) if n_batches < 2**15 else node_batch
    src_batch = node_batch[edge_index[0]]
    inside = np.flatnonzero(src_batch == node_batch[edge_index[1]])
    edge_order = inside[np.argsort(src_batch[inside], kind="stable")]
    edge_bounds = np.searchsorted(src_batch[edge_order], np.arange(n_batches + 1))
    for b in range(n_batches):
        if keep is not None and b not in keep:
            yield None
            continue
        nodes = node_order[node_bounds[b] : node_bounds[b + 1]]
        sub = local[edge_index[:, edge_order[edge_bounds[b] : edge_bounds[b + 1]]]]
        yield Batch(nodes, sub, gcn_norm(sub, nodes.size))


def spacing_survival(parts: np.ndarray) -> float:
    """Fraction of consecutive pairs (i, i+1) whose ends share a cluster (a lower bound for a batch).

    Example:
        >>> spacing_survival(contiguous_parts(100, 4))
        0.9696969696969697
    """
    return float(np.mean(parts[1:] == parts[:-1]))
