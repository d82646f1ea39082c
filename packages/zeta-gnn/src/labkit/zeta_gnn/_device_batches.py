"""Training batches and the validation subgraph, ready on the device: built on the host once per epoch,
moved in one copy per dtype, then a step's forward pass and loss run with no host synchronisation.

Everything a batch needs that depends only on its nodes (the local CSR adjacency, the positions
of its training nodes, the consecutive pairs among them, the MMD's random draws) is computed on
the host while the device is busy, so a step launches kernels only: no per-step host-to-device
copy (a blocking copy waits for the device), no boolean-mask indexing, no ``.item()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from labkit.core import LossResult
    from labkit.zeta_gnn.losses import SpacingLoss
    from labkit.zeta_gnn.training import ZetaData

__all__ = ["DeviceBatch", "batch_loss", "by_destination", "csr_parts", "device_batches", "receptive_field",
           "validation_sums", "warm_up"]


def by_destination(data: ZetaData) -> tuple[np.ndarray, np.ndarray]:
    """The graph's edges and GCN weights sorted by (destination, source), once per data set.

    A subgraph cut out of this order keeps it (``torch_geometric.utils.subgraph`` and boolean masks
    preserve order, relabelling is monotone), so its CSR rows need no sort.
    """
    cache = data.__dict__.setdefault("_by_destination", {})
    if "edges" not in cache:
        ei = data.edge_index
        order = np.lexsort((ei[0], ei[1]))
        cache["edges"] = (np.ascontiguousarray(ei[:, order]), data.edge_weight[order])
    return cache["edges"]


def csr_parts(ei: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row pointers and column indices of A[dst, src] for edges already sorted by (dst, src).

    Example:
        >>> crow, col = csr_parts(np.array([[0, 1, 0], [0, 0, 1]]), 2)
        >>> crow.tolist(), col.tolist()
        ([0, 2, 3], [0, 1, 0])
    """
    crow = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ei[1], minlength=n), out=crow[1:])
    return crow, np.ascontiguousarray(ei[0], dtype=np.int64)


def receptive_field(ei: np.ndarray, targets: np.ndarray, n_nodes: int, hops: int) -> np.ndarray:
    """Sorted nodes whose features reach ``targets`` through ``hops`` message-passing layers (targets included).

    Example:
        >>> from labkit.zeta_gnn.graph import adelic_edges
        >>> receptive_field(adelic_edges(10, (2,)), np.array([5]), 10, 1).tolist()
        [3, 4, 5, 6, 7]
    """
    keep = np.zeros(n_nodes, dtype=bool)
    keep[targets] = True
    for _ in range(hops):
        keep[ei[0][keep[ei[1]]]] = True
    return np.flatnonzero(keep)


def _upload(arrays: list[np.ndarray], device: str) -> list[torch.Tensor]:
    """``arrays`` on ``device`` through one copy per dtype (views of one buffer each), in order."""
    out: list[Any] = [None] * len(arrays)
    for dtype in {a.dtype for a in arrays}:
        idx = [i for i, a in enumerate(arrays) if a.dtype == dtype]
        flat = torch.from_numpy(np.concatenate([arrays[i].ravel() for i in idx])).to(device)
        for i, view in zip(idx, torch.split(flat, [arrays[i].size for i in idx]), strict=True):
            out[i] = view.view(arrays[i].shape)
    return out


def _csr_tensor(crow: torch.Tensor, col: torch.Tensor, val: torch.Tensor, n: int) -> torch.Tensor:
    import warnings

    # what torch_geometric's spmm converts to anyway; built from a sorted edge list, so valid by construction
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")
        return torch.sparse_csr_tensor(crow, col, val, (n, n), check_invariants=False)


def _node_table(data: ZetaData, device: str) -> dict[str, torch.Tensor]:
    """Features, standardised target, t̃ and ρ (float32) of every node on ``device``, once per run."""
    cache = data.__dict__.setdefault("_node_table", {})
    if device not in cache:
        cache[device] = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)).to(device)
                         for k, v in (("x", data.x), ("y", data.y), ("ts", data.t_smooth), ("rho", data.rho))}
    return cache[device]


@dataclass
class DeviceBatch:
    """One batch on the device: features, adjacency, training positions, targets, spacing pairs, MMD draws."""

    x: torch.Tensor
    adj: torch.Tensor
    pos: torch.Tensor           # positions of the training nodes among the batch's nodes
    target: torch.Tensor        # standardised target of those nodes
    ts: torch.Tensor            # t̃ and ρ at those nodes (residual target: ordinates and unfolding)
    rho: torch.Tensor
    pair_a: torch.Tensor        # consecutive zero indices among the training nodes (positions in pos)
    pair_b: torch.Tensor
    draws: tuple[torch.Tensor | None, torch.Tensor] | None
    seen: int                   # training nodes
    full: bool                  # the whole graph (the RG penalty needs it)


def device_batches(data: ZetaData, loss_fn: SpacingLoss, batches: dict[int, tuple[np.ndarray | None, np.ndarray,
                   np.ndarray]], generators: dict[int, np.random.Generator], device: str) -> dict[int, DeviceBatch]:
    """The batches ``{b: (nodes or None for all, edges sorted by (dst, src), weights)}`` on ``device``.

    Batches without training nodes are left out (they add nothing to a step). ``generators[b]``
    draws batch b's MMD samples, as :class:`SpacingLoss` would have drawn them in the step.
    """
    table = _node_table(data, device)
    plans, arrays = [], []
    for b, (nodes, ei, ew) in batches.items():
        all_nodes = np.arange(data.n.size) if nodes is None else nodes
        pos = np.flatnonzero(all_nodes < data.n_train)
        if pos.size == 0:
            continue
        gidx = all_nodes[pos]
        if data.target == "spacing":  # the predicted spacings are the predictions themselves
            a = b_ = np.empty(0, np.int64)
            n_spacings = pos.size
        else:  # node indices are sorted: consecutive zeros are neighbours in gidx
            a = np.flatnonzero(np.diff(gidx) == 1)
            b_, n_spacings = a + 1, a.size
        draws = loss_fn.draw(n_spacings, generators[b])
        crow, col = csr_parts(ei, all_nodes.size)
        parts = [all_nodes.astype(np.int64), crow, col, ew.astype(np.float32), pos, gidx.astype(np.int64), a, b_]
        if draws is not None:
            parts += [np.empty(0, np.int64) if draws[0] is None else draws[0].astype(np.int64),
                      draws[1].astype(np.float32)]
        plans.append((b, len(parts), draws is not None and draws[0] is not None, nodes is None))
        arrays += parts
    moved, out, i = _upload(arrays, device), {}, 0
    for b, count, subsample, full in plans:
        nodes_t, crow, col, ew, pos, gidx, a, b_ = moved[i : i + 8]
        draws = (moved[i + 8] if subsample else None, moved[i + 9]) if count > 8 else None
        n = nodes_t.numel()
        adj = _csr_tensor(crow, col, ew, n)
        out[b] = DeviceBatch(table["x"][nodes_t], adj, pos, table["y"][gidx], table["ts"][gidx], table["rho"][gidx],
                             a, b_, draws, pos.numel(), full)
        i += count
    return out


def batch_loss(model: torch.nn.Module, data: ZetaData, loss_fn: SpacingLoss, batch: DeviceBatch,
               rg: Any = None) -> LossResult:
    """The loss of one batch; ``rg(out)`` gives the RG penalty term (full batch only)."""
    out = model(batch.x, batch.adj)
    pred = out[batch.pos]
    pred_raw = data.mu + data.sd * pred
    extra = {"rg": rg(out)} if rg is not None else {}
    if data.target == "spacing":
        spacings = pred_raw
    else:
        t_pred = pred_raw if data.target == "ordinate" else batch.ts + pred_raw / batch.rho
        spacings = (t_pred[batch.pair_b] - t_pred[batch.pair_a]) * batch.rho[batch.pair_a]
    return loss_fn(pred, batch.target, spacings=spacings, extra=extra, draws=batch.draws)


def _validation_view(data: ZetaData, device: str, hops: int, rank: int, world: int) -> tuple[Any, ...] | None:
    """Rank ``rank``'s share of the validation block and the subgraph that computes it exactly.

    The share's ``hops``-hop receptive field with the full graph's GCN weights: the predictions
    at the share equal the full-graph ones, at a tenth of the cost.
    """
    cache = data.__dict__.setdefault("_validation", {})
    key = (device, hops, rank, world)
    if key not in cache:
        share = np.array_split(np.arange(data.n_train, data.n_val), world)[rank]
        if share.size == 0:
            cache[key] = None
        else:
            ei, ew = by_destination(data)
            nodes = receptive_field(ei, share, data.n.size, hops)
            inside = np.zeros(data.n.size, dtype=bool)
            inside[nodes] = True
            keep = inside[ei[0]] & inside[ei[1]]
            local = np.cumsum(inside) - 1
            crow, col = csr_parts(local[ei[:, keep]], nodes.size)
            arrays = [nodes.astype(np.int64), crow, col, ew[keep].astype(np.float32),
                      np.searchsorted(nodes, share).astype(np.int64), share.astype(np.int64)]
            nodes_t, crow_t, col_t, ew_t, pos_t, share_t = _upload(arrays, device)
            table = _node_table(data, device)
            adj = _csr_tensor(crow_t, col_t, ew_t, nodes.size)
            cache[key] = (table["x"][nodes_t], adj, pos_t, table["y"][share_t])
    return cache[key]


@torch.no_grad()
def validation_sums(model: torch.nn.Module, data: ZetaData, device: str, rank: int = 0,
                    world: int = 1) -> tuple[float, int]:
    """(sum of squared standardised errors, count) over rank ``rank`` of ``world``'s share of the validation block."""
    view = _validation_view(data, device, int(getattr(model, "hops", 2)), rank, world)
    if view is None:
        return 0.0, 0
    x, adj, pos, target = view
    model.eval()
    out = model(x, adj)[pos]
    return float(torch.sum((out - target) ** 2)), int(pos.numel())


def warm_up(model: torch.nn.Module, data: ZetaData, device: str, sum_gradients: Any) -> None:
    """One forward and backward pass on the validation subgraph and one gradient all-reduce, then
    the gradients are dropped: the device's libraries and kernels (cuBLAS, cuSPARSE, NCCL's
    all-reduce) load before a timed loop. The weights and the optimizer are untouched."""
    view = _validation_view(data, device, int(getattr(model, "hops", 2)), 0, 1)
    if view is not None:
        x, adj, pos, _ = view
        model.eval()  # no dropout draw: the random streams stay where they were
        model(x, adj)[pos].sum().backward()
    sum_gradients(model.parameters())
    model.zero_grad(set_to_none=True)
    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)
