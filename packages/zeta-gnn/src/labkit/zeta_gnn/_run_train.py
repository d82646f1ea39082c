"""The body of ``zeta-gnn:train`` (heavy imports allowed here)."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core import LabkitError, RunContext

__all__ = ["build_law", "fit", "load_zeros", "run_train"]


def load_zeros(cfg: Any, count: int, ctx: RunContext | None = None) -> np.ndarray:
    """Zeros 1..count from ``cfg.data_path`` or from the cached generator (with a progress bar)."""
    from labkit.zeta_gnn.tables import ZeroTableError, read_zero_table
    from labkit.zeta_gnn.zeros import zeta_zeros

    if cfg.data_path:
        try:
            z = read_zero_table(cfg.data_path)
        except ZeroTableError as exc:
            raise LabkitError(str(exc)) from None
        if z.size < count:
            raise LabkitError(f"data_path: {cfg.data_path!r} holds {z.size} zeros, the run needs {count}")
        return z[:count]
    bar = ctx.progress(total=count, desc="zeros") if ctx is not None else None
    try:
        return zeta_zeros(1, count, backend=cfg.backend, cache_dir=cfg.cache_dir,
                          progress=(bar.update if bar is not None else None))
    finally:
        if bar is not None:
            bar.close()


def build_law(cfg: Any, data: Any):
    """The spacing law the distribution losses use (see SCIENCE: asymptotic GUE is *not* the zeros' law)."""
    from labkit.zeta_gnn.spectral import spacing_law

    if cfg.spacing_law == "empirical":
        return spacing_law("empirical", empirical=data.s_true[: data.n_train - 1])
    if cfg.spacing_law == "bogomolny":
        return spacing_law("bogomolny", height=float(np.median(data.t[: data.n_train])))
    return spacing_law(cfg.spacing_law)


def fit(ctx: RunContext, cfg: Any, data: Any, *, name: str) -> tuple[Any, list[dict[str, float]], float]:
    """Train one model through a resumable ``ctx.loop``; returns (model, history, train seconds)."""
    import torch

    from labkit.zeta_gnn.batching import partition
    from labkit.zeta_gnn.losses import SpacingLoss
    from labkit.zeta_gnn.model import ZetaGCN
    from labkit.zeta_gnn.training import make_optimizer, train_epoch

    device = ctx.device
    torch.manual_seed(ctx.seed)
    model = ZetaGCN(data.x.shape[1], cfg.hidden).to(device)
    n_steps = cfg.epochs * (1 if cfg.batching == "full" else -(-cfg.n_parts // cfg.clusters_per_batch))
    opt = make_optimizer(model, cfg.optimizer, cfg.lr, n_steps, ctx.seed)
    loss_fn = SpacingLoss(build_law(cfg, data), {"mse": 1.0, "nll": cfg.w_nll, "mmd": cfg.w_mmd, "rg": cfg.w_rg},
                          cfg.mmd_samples)
    parts = None
    if cfg.batching != "full":
        parts = partition(data.edge_index, data.n.size, cfg.n_parts, cfg.batching,
                          cache_dir=ctx.out_dir / "partitions", seed=ctx.seed)
    history: list[dict[str, float]] = []

    def get_state() -> dict[str, Any]:
        return {"model": model.state_dict(), "opt": opt.state_dict(), "history": history}

    def set_state(s: dict[str, Any]) -> None:
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        history[:] = s["history"]

    t0 = ctx.elapsed_s  # summed over resumed sessions
    for epoch in ctx.loop(cfg.epochs, state=get_state, restore=set_state, checkpoint_every=cfg.checkpoint_every,
                          name=name, desc=f"{name} epochs"):
        # the batch order depends only on (seed, epoch): a resumed run redraws the same batches
        rng = np.random.default_rng([ctx.seed, epoch])
        rec = train_epoch(model, opt, data, loss_fn, device=device, rng=rng, parts=parts,
                          clusters_per_batch=cfg.clusters_per_batch, rg_weight=cfg.w_rg)
        rec["epoch"] = epoch
        history.append(rec)
    return model, history, ctx.elapsed_s - t0


def run_train(ctx: RunContext) -> dict[str, Any]:
    """Train, evaluate against the baselines, run the ablation, draw the figures."""
    import torch

    threads = torch.get_num_threads()
    if ctx.config.threads:
        torch.set_num_threads(ctx.config.threads)
    try:
        return _run_train(ctx)
    finally:
        torch.set_num_threads(threads)


def _run_train(ctx: RunContext) -> dict[str, Any]:
    from labkit.zeta_gnn._figures import draw_figures
    from labkit.zeta_gnn.training import evaluate, predict, prepare

    cfg = ctx.config
    count = cfg.n_zeros + cfg.predict_k + (1 if cfg.target == "spacing" else 0)
    zeros = load_zeros(cfg, count, ctx)
    try:
        data = prepare(zeros, cfg.n_zeros, target=cfg.target, primes=cfg.primes, graph=cfg.graph, lags=cfg.lags,
                       seed=ctx.seed)
    except ValueError as exc:
        raise LabkitError(str(exc)) from None
    ctx.log.info("nodes %d, edges %d, train %d, validate %d, predict %d", data.n.size, data.edge_index.shape[1],
                 data.n_train, data.n_fit - data.n_train, data.n.size - data.n_fit)
    model, history, seconds = fit(ctx, cfg, data, name="train")
    pred = predict(model, data, ctx.device)
    metrics = evaluate(data, pred)
    ctx.write_csv("history", history)
    results: dict[str, Any] = {"metrics": metrics, "spacing_law": cfg.spacing_law, "graph": cfg.graph,
                               "train_seconds": seconds, "nodes_per_second": _throughput(history, seconds),
                               "final_loss": history[-1] if history else {}}
    if cfg.ablation:
        other = "random" if cfg.graph == "adelic" else "adelic"
        data_b = prepare(zeros, cfg.n_zeros, target=cfg.target, primes=cfg.primes, graph=other, lags=cfg.lags,
                         seed=ctx.seed)
        model_b, _, _ = fit(ctx, cfg, data_b, name=f"ablation_{other}")
        results["ablation"] = {"graph": other, "metrics": evaluate(data_b, predict(model_b, data_b, ctx.device))}
    draw_figures(ctx, data, pred)
    results["headline"] = _headline(cfg, metrics, results.get("ablation"))
    return results


def _throughput(history: list[dict[str, float]], seconds: float) -> float:
    return float(sum(h.get("nodes", 0.0) for h in history) / seconds) if seconds > 0 and history else 0.0


def _headline(cfg: Any, m: dict[str, Any], ablation: dict[str, Any] | None) -> dict[str, Any]:
    if cfg.target == "spacing":
        head = {"val spacing RMSE model": m["val_spacing_model_rmse"],
                "val spacing RMSE linear(prev 10)": m["val_spacing_baseline_linear_prev10"],
                "val spacing RMSE const 1": m["val_spacing_baseline_const1"]}
        matched = [k for k in m if k.startswith("val_spacing_baseline_linear_prev") and k != "val_spacing_baseline_linear_prev10"]
        if matched:
            head[f"val spacing RMSE linear(prev {matched[0].rsplit('prev', 1)[1]}, same reach)"] = m[matched[0]]
        key = "val_spacing_model_rmse"
    else:
        head = {"val RMSE model (mean spacings)": m["val_model_rmse"],
                "val RMSE RvM baseline": m["val_baseline_rmse"],
                "val max err model": m["val_model_max"], "val max err baseline": m["val_baseline_max"]}
        if "future_model_rmse" in m:
            head["N+1..N+k RMSE model"] = m["future_model_rmse"]
            head["N+1..N+k RMSE baseline"] = m["future_baseline_rmse"]
        key = "val_model_rmse"
    head["KS pred spacings vs GUE"] = m["val_ks_pred_vs_gue"]
    head["KS true spacings vs GUE"] = m["val_ks_true_vs_gue"]
    if ablation is not None:
        head[f"val RMSE {ablation['graph']} edges"] = ablation["metrics"][key]
    return head
