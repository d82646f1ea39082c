"""Data preparation, one training epoch, and evaluation against the smooth and spacing baselines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from labkit.zeta_gnn.baseline import density, smooth_zeros, spacing_baselines, unfolded_spacings
from labkit.zeta_gnn.batching import cluster_batches
from labkit.zeta_gnn.graph import adelic_edges, causal, coarsen, gcn_norm, random_matched_edges
from labkit.zeta_gnn.losses import SpacingLoss
from labkit.zeta_gnn.model import TARGETS, index_features, spacing_features

if TYPE_CHECKING:
    from labkit.core import RunContext

__all__ = ["ZetaData", "evaluate", "node_inputs", "predict", "prepare", "sparse_adjacency", "train_epoch", "validation_loss"]


@dataclass
class ZetaData:
    """Everything one training run needs, as numpy arrays over the nodes (zero indices first_index..).

    Blocks of 1..N (N = ``n_fit``): ``[0, n_train)`` train, ``[n_train, n_val)`` validation (picks the
    best epoch, never reported), ``[n_val, n_fit)`` test (the reported figures), ``[n_fit, end)``
    the predicted zeros N+1..N+k.
    """

    target: str
    n: np.ndarray            # zero index of each node (1-based: first_index, first_index + 1, ...)
    t: np.ndarray            # true ordinate t_n (spacing mode: t_n of the spacing's left end)
    y_raw: np.ndarray        # target in natural units (ordinate, residual in mean spacings, or spacing)
    x: np.ndarray            # features, float32
    t_smooth: np.ndarray     # Riemann–von Mangoldt t̃_n
    rho: np.ndarray          # local density at t̃_n (unfolds predicted spacings)
    edge_index: np.ndarray
    edge_weight: np.ndarray
    n_train: int
    n_val: int
    n_fit: int
    mu: float                # y = (y_raw - mu)/sd on the train nodes
    sd: float
    s_true: np.ndarray       # true unfolded spacings s_i between zero i and i+1
    primes: tuple[int, ...]
    graph: str = "adelic"
    lags: int = 10
    graph_seed: int = 0

    @property
    def y(self) -> np.ndarray:
        """Standardised target."""
        return ((self.y_raw - self.mu) / self.sd).astype(np.float32)

    @property
    def first_index(self) -> int:
        """Zero index of the first node."""
        return int(self.n[0])


def node_inputs(n: np.ndarray, *, target: str, primes: Sequence[int], graph: str, lags: int, n_max: float,
                seed: int, spacings: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (float32), edges and GCN edge weights of the nodes with zero indices ``n``.

    ``residual``/``ordinate``: the features depend on the index only. ``spacing``: node i holds the
    ``lags`` unfolded ``spacings`` before it, on causal edges. Shared by training and by
    :class:`labkit.zeta_gnn.predictor.ZetaPredictor`, so a loaded model sees the same inputs.
    """
    if target == "spacing":
        if spacings is None:
            raise ValueError("target 'spacing': the features are the previous true spacings; give spacings")
        x = spacing_features(spacings, lags, n, n_max)
    else:
        x = index_features(n, primes, n_max)
    if graph == "adelic":
        ei = adelic_edges(n.size, primes)
    elif graph == "random":
        ei = random_matched_edges(n.size, primes, seed=seed)
    else:
        raise ValueError(f"graph: must be 'adelic' or 'random', got {graph!r}")
    if target == "spacing":
        ei = causal(ei)  # node i's features hold s_{<i}; a later neighbour would leak s_i
    return x.astype(np.float32), ei, gcn_norm(ei, n.size)


def prepare(zeros: np.ndarray, n_fit: int, *, target: str = "residual", primes: Sequence[int] = (2, 3, 5, 7, 11),
            graph: str = "adelic", lags: int = 10, train_fraction: float = 0.8, val_fraction: float = 0.1,
            seed: int = 0, first_index: int = 1) -> ZetaData:
    """Build features, targets and the graph from ``zeros`` = t_K..t_{K+N+k-1} (K = ``first_index``, N = ``n_fit``).

    The first ``train_fraction`` of the N fitted zeros train, the next ``val_fraction`` validate
    (model selection), the rest test.
    """
    if target not in TARGETS:
        raise ValueError(f"target: must be one of {TARGETS}, got {target!r}")
    if n_fit < 2:
        raise ValueError(f"n_zeros: training needs N >= 2 zeros, got {n_fit}")
    if first_index < 1:
        raise ValueError(f"first_index: zero indices start at 1, got {first_index}")
    zeros = np.asarray(zeros, dtype=np.float64)
    if zeros.size < n_fit or not np.all(np.isfinite(zeros)):
        raise ValueError(f"zeros: need {n_fit} finite ordinates, got {zeros.size}")
    s_all = unfolded_spacings(zeros)
    t = zeros[:-1] if target == "spacing" else zeros
    n = np.arange(first_index, first_index + t.size, dtype=np.float64)
    n_fit_nodes = min(n_fit, t.size)
    n_max = float(first_index + n_fit - 1)
    x, ei, ew = node_inputs(n, target=target, primes=primes, graph=graph, lags=lags, n_max=n_max, seed=seed,
                            spacings=s_all)
    ts = smooth_zeros(n)
    y_raw = s_all if target == "spacing" else t if target == "ordinate" else (t - ts) * density(ts)
    n_train = max(1, round(train_fraction * n_fit_nodes))
    n_val = min(n_fit_nodes, max(n_train, round((train_fraction + val_fraction) * n_fit_nodes)))
    mu, sd = float(y_raw[:n_train].mean()), float(y_raw[:n_train].std() or 1.0)
    return ZetaData(target, n, t, y_raw, x, ts, density(ts), ei, ew, n_train, n_val, n_fit_nodes, mu, sd, s_all,
                    tuple(primes), graph, lags, seed)


def sparse_adjacency(ei: np.ndarray, ew: np.ndarray, n: int, device: str) -> torch.Tensor:
    """Weighted sparse adjacency A[dst, src] = w: GCNConv then runs one spmm per layer, 2-3x
    faster on CPU than its per-edge message passing (measured side by side)."""
    import warnings

    idx = torch.from_numpy(np.stack([ei[1], ei[0]]))
    adj = torch.sparse_coo_tensor(idx, torch.from_numpy(ew).float(), (n, n), check_invariants=False).coalesce()
    with warnings.catch_warnings():
        # CSR is what torch_geometric's spmm converts to anyway; doing it here does it once
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return adj.to_sparse_csr().to(device)


def _full_adjacency(data: ZetaData, device: str) -> torch.Tensor:
    # built once per run and device: the full graph is reused every epoch
    cache = data.__dict__.setdefault("_adjacency", {})
    if device not in cache:
        cache[device] = sparse_adjacency(data.edge_index, data.edge_weight, data.n.size, device)
    return cache[device]


def _rg_penalty(model, data: ZetaData, out: torch.Tensor, device: str) -> torch.Tensor:
    """Block-spin consistency: the model on the coarse graph of index pairs {2i, 2i+1} (features at the
    pair centre, quotient edges, GCN-normalised) must predict the pair mean of its fine predictions,
    compared in raw target units (mean spacings for ``residual``)."""
    n_nodes = data.n.size
    cache = data.__dict__.setdefault("_coarse", {})
    if device not in cache:  # the coarse graph and its features are fixed: build them once
        cei, n_c = coarsen(data.edge_index, n_nodes, 2)
        centre = (data.n[0::2] + np.r_[data.n[1::2], data.n[-1:]][:n_c]) / 2.0
        xc = torch.from_numpy(index_features(centre, data.primes, float(data.n[data.n_fit - 1])).astype(np.float32)).to(device)
        cache[device] = (xc, sparse_adjacency(cei, gcn_norm(cei, n_c), n_c, device))
    oc = model(*cache[device])
    pad = torch.cat([out, out[-1:]]) if n_nodes % 2 else out
    fine_mean = pad.view(-1, 2).mean(dim=1)
    return torch.mean((oc - fine_mean) ** 2) * data.sd**2


def train_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, data: ZetaData, loss_fn: SpacingLoss, *,
                device: str, rng: np.random.Generator, parts: np.ndarray | None = None,
                clusters_per_batch: int = 1, rg_weight: float = 0.0, accumulate: int = 1,
                ctx: RunContext[Any] | None = None) -> dict[str, float]:
    """One epoch: full batch when ``parts`` is None, else Cluster-GCN batches in the order ``rng`` draws.

    An optimizer step takes the mean gradient of ``accumulate`` batches per process; under
    ``--nproc K`` (``ctx`` of one rank) rank r computes batches r, r+K, ... of each step and the
    gradients are summed over ranks (:mod:`labkit.core.distributed`), so K processes follow the
    trajectory of one with ``accumulate=K``; a batch without training nodes contributes a zero
    gradient. Each batch's random draws (MMD samples) come from its own generator, the same
    whichever rank computes it. This rank's batches are built on the host and moved to the device
    at the start of the epoch; the steps then never wait for the device (losses are summed there
    and read once, at the end). Returns ``train_loss`` and the loss components (means over the
    training nodes seen), the number of training nodes seen and the fraction of training spacings
    that survived inside batches.
    """
    from labkit.core.distributed import step_groups, sum_gradients_and, sum_values
    from labkit.zeta_gnn._device_batches import batch_loss, by_destination, device_batches

    model.train()
    n_batches = 1 if parts is None else -(-(int(parts.max()) + 1) // clusters_per_batch)
    steps = (ctx.steps(n_batches, accumulate) if ctx is not None else step_groups(n_batches, accumulate=accumulate))
    mine = {b for step in steps for b in step.mine}
    batch_seeds = rng.integers(0, 2**63, size=n_batches)  # drawn before the cluster order, on every rank alike
    edges, weights = by_destination(data)
    groups: dict[int, tuple[np.ndarray | None, np.ndarray, np.ndarray]] = {}
    if parts is None:
        groups[0] = (None, edges, weights)
    else:
        for b, batch in enumerate(cluster_batches(parts, edges, clusters_per_batch, rng, keep=mine)):
            if batch is not None:
                groups[b] = (batch.nodes, batch.edge_index, batch.edge_weight)
    batches = device_batches(data, loss_fn, groups, {b: np.random.default_rng(batch_seeds[b]) for b in groups}, device)
    keys = ["total", *loss_fn.weights]
    sums = torch.zeros(len(keys), dtype=torch.float64, device=device)
    zero = torch.zeros((), device=device)
    rg = (lambda out: _rg_penalty(model, data, out, device)) if rg_weight > 0 else None
    seen = pairs = 0
    for step in steps:
        holder: dict[str, Any] = {}

        # the closure runs inside opt.step (QIMAD calls it once per evaluated agent): bind the step now
        def closure(step=step, holder=holder):
            opt.zero_grad()
            total, records = zero, []
            for b in step.mine:
                if b not in batches:
                    continue  # validation/test nodes only: no loss term, nothing to learn (zero gradient)
                res = batch_loss(model, data, loss_fn, batches[b], rg)
                (res.total / step.count).backward()
                total = total + res.total.detach()
                records.append((res, batches[b].seen))
            summed = sum_gradients_and(model.parameters(), total.reshape(1))
            holder["records"] = records
            return summed[0] / step.count

        opt.step(closure)
        for res, n_seen in holder["records"]:
            terms = {"total": res.total, **res.components}
            sums += torch.stack([terms[k].detach().double() if k in terms else zero.double() for k in keys]) * n_seen
            seen += n_seen
        for b in step.mine:
            nodes = groups[b][0]
            idx = np.arange(data.n_train) if nodes is None else nodes[nodes < data.n_train]
            pairs += int(np.sum(np.diff(idx) == 1))
    totals = sum_values([seen, pairs, *sums.tolist()])
    seen_all = totals[0]
    out = {("train_loss" if k == "total" else k): v / max(seen_all, 1) for k, v in zip(keys, totals[2:], strict=True)}
    out["nodes"] = float(seen_all)
    out["spacing_survival"] = totals[1] / max(data.n_train - 1, 1)
    return out


@torch.no_grad()
def predict(model: torch.nn.Module, data: ZetaData, device: str) -> np.ndarray:
    """Raw predictions (natural target units) for every node, full-graph inference."""
    model.eval()
    out = model(torch.from_numpy(data.x).to(device), _full_adjacency(data, device))
    return (data.mu + data.sd * out.double()).cpu().numpy()


def validation_loss(model: torch.nn.Module, data: ZetaData, device: str, ctx: RunContext[Any] | None = None) -> float:
    """MSE of the standardised target on the validation block (eval mode); NaN if it is empty.

    Computed on the validation nodes' receptive field (exactly the full-graph predictions there);
    with ``ctx`` of one rank of several, each rank computes its share and the sums are combined.
    """
    from labkit.zeta_gnn._device_batches import validation_sums

    if data.n_val <= data.n_train:
        return float("nan")
    if ctx is None or ctx.world_size == 1:
        sq, count = validation_sums(model, data, device)
    else:
        sq, count = ctx.sum_values(validation_sums(model, data, device, ctx.rank, ctx.world_size))
    return sq / count


def _err_stats(e: np.ndarray, prefix: str) -> dict[str, float]:
    return {f"{prefix}_rmse": float(np.sqrt(np.mean(e**2))), f"{prefix}_max": float(np.max(np.abs(e)))}


def evaluate(data: ZetaData, pred_raw: np.ndarray) -> dict[str, object]:
    """Model vs baselines on the test block and on the k predicted zeros, in mean spacings."""
    from labkit.zeta_gnn.spectral import ks_distance, spacing_law

    blocks = {"test": slice(data.n_val, data.n_fit), "future": slice(data.n_fit, data.n.size)}
    out: dict[str, object] = {"target": data.target}
    s_train = data.s_true[: data.n_train - 1]
    gaudin = spacing_law("gaudin")
    for name, sl in blocks.items():
        if sl.stop - sl.start < 2:
            continue
        if data.target == "spacing":
            s_hat, s_ref = pred_raw[sl], data.s_true[sl]
            out.update(_err_stats(s_hat - s_ref, f"{name}_spacing_model"))
        else:
            t_hat = pred_raw[sl] if data.target == "ordinate" else data.t_smooth[sl] + pred_raw[sl] / data.rho[sl]
            rho_true = density(data.t[sl])
            out.update(_err_stats((t_hat - data.t[sl]) * rho_true, f"{name}_model"))
            out.update(_err_stats((data.t_smooth[sl] - data.t[sl]) * rho_true, f"{name}_baseline"))
            s_hat, s_ref = unfolded_spacings(t_hat), data.s_true[sl.start : sl.stop - 1]
            out.update(_err_stats(s_hat - s_ref, f"{name}_spacing_model"))
        out[f"{name}_ks_pred_vs_gue"] = ks_distance(s_hat, gaudin.cdf_at)
        out[f"{name}_ks_true_vs_gue"] = ks_distance(s_ref, gaudin.cdf_at)
        # a GCN with 2 layers on offsets {1} ∪ primes sees 2·max(offset) nodes back, each holding
        # `lags` spacings: the fair linear reference uses that many previous spacings
        receptive = data.x.shape[1] - 1 + 2 * max((1, *data.primes)) if data.target == "spacing" else None
        for k, v in spacing_baselines(s_train, s_ref, receptive).items():
            out[f"{name}_spacing_baseline_{k}"] = v
    return out
