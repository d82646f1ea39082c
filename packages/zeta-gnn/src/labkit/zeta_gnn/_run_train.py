"""The body of ``zeta-gnn:train`` (heavy imports allowed here)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from labkit.core import LabkitError, RunContext

__all__ = ["build_law", "fit", "load_zeros", "run_train"]


def load_zeros(cfg: Any, count: int, ctx: RunContext[Any] | None = None) -> tuple[np.ndarray, int]:
    """Zeros K..K+count-1 and K: from ``cfg.data_path`` (K = ``data_first_index``, checked) or the generator (K = 1)."""
    from labkit.zeta_gnn.tables import ZeroTableError, read_zero_table
    from labkit.zeta_gnn.zeros import zeta_zeros

    if cfg.data_path:
        try:
            z = read_zero_table(cfg.data_path)
        except ZeroTableError as exc:
            raise LabkitError(str(exc)) from None
        first = cfg.data_first_index or 1
        _check_first_index(cfg.data_path, float(z[0]), first, told=cfg.data_first_index is not None)
        if z.size < count:
            raise LabkitError(f"data_path: {cfg.data_path!r} holds {z.size} zeros, the run needs {count}")
        return z[:count], first
    bar = ctx.progress(total=count, desc="zeros") if ctx is not None else None
    try:
        return zeta_zeros(1, count, backend=cfg.backend, cache_dir=cfg.cache_dir,
                          progress=(bar.update if bar is not None else None)), 1
    finally:
        if bar is not None:
            bar.close()


def _check_first_index(path: str, t_first: float, first: int, *, told: bool) -> None:
    """Refuse a table whose first ordinate is not zero ``first`` (within 2 mean spacings of t̃_first)."""
    from labkit.zeta_gnn.baseline import density, smooth_count, smooth_zeros

    expected = float(smooth_zeros(np.array([float(first)]))[0])
    if abs(t_first - expected) * float(density(np.array([expected]))[0]) <= 2.0:
        return
    guess = max(1, round(float(smooth_count(np.array([t_first]))[0]) + 0.5))
    if told:
        raise LabkitError(f"data_first_index: {path!r} starts at t = {t_first!r}, which is not zero {first} "
                          f"(t ~ {expected:.3f}); it looks like zero {guess}")
    raise LabkitError(f"data_path: {path!r} starts at t = {t_first!r}, not at zero 1 (t = 14.1347...); it looks like "
                      f"zero {guess}: set data_first_index={guess} if the table starts there")


def build_law(cfg: Any, data: Any) -> Any:
    """The spacing law the distribution losses use (see SCIENCE: asymptotic GUE is *not* the zeros' law)."""
    from labkit.zeta_gnn.spectral import spacing_law

    if cfg.spacing_law == "empirical":
        return spacing_law("empirical", empirical=data.s_true[: data.n_train - 1])
    if cfg.spacing_law == "bogomolny":
        return spacing_law("bogomolny", height=float(np.median(data.t[: data.n_train])))
    return spacing_law(cfg.spacing_law)


def fit(ctx: RunContext[Any], cfg: Any, data: Any, *, name: str) -> tuple[Any, list[dict[str, float]], float, dict[str, Any]]:
    """Train one model through a resumable ``ctx.loop``, keeping the weights of the best validation epoch.

    Returns (best model, history with ``val_loss`` per epoch, train seconds, ``{"epoch", "val_loss"}`` of the best).
    Without a validation block (tiny N) the last epoch is kept.
    """
    import torch

    from labkit.core import Tracked
    from labkit.zeta_gnn._device_batches import warm_up
    from labkit.zeta_gnn.batching import partition
    from labkit.zeta_gnn.losses import SpacingLoss
    from labkit.zeta_gnn.model import ZetaGCN
    from labkit.zeta_gnn.training import train_epoch, validation_loss

    device = ctx.local_device
    torch.manual_seed(ctx.seed)  # the same initial weights on every rank
    model = ZetaGCN(data.x.shape[1], cfg.hidden).to(device)
    n_batches = 1 if cfg.batching == "full" else -(-cfg.n_parts // cfg.clusters_per_batch)
    n_steps = cfg.epochs * -(-n_batches // (cfg.accumulate * ctx.world_size))
    opt = ctx.resolve("optimizer", cfg.optimizer)(model.parameters(), lr=cfg.lr, seed=ctx.seed, total_steps=n_steps)
    loss_fn = SpacingLoss(build_law(cfg, data), {"mse": 1.0, "nll": cfg.w_nll, "mmd": cfg.w_mmd, "rg": cfg.w_rg},
                          cfg.mmd_samples)
    parts = None
    if cfg.batching != "full":  # rank 0 partitions (and caches in the run folder), the others receive it
        parts = ctx.broadcast(partition(data.edge_index, data.n.size, cfg.n_parts, cfg.batching,
                                        cache_dir=ctx.out_dir / "partitions", seed=ctx.seed) if ctx.is_main else None)
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"epoch": -1, "val_loss": float("inf"), "weights": None}
    track = {"model": model, "opt": opt,
             "history": Tracked(lambda: list(history), lambda v: history.__setitem__(slice(None), v)),
             "best": Tracked(lambda: dict(best), best.update)}
    warm_up(model, data, device, ctx.sum_gradients)  # the device's start-up (CUDA libraries) before the loop's clock
    t0 = ctx.elapsed_s  # summed over resumed sessions
    clock: dict[str, float] = {}
    for epoch in ctx.loop(cfg.epochs, track=track, checkpoint_every=cfg.checkpoint_every, name=name,
                          desc=f"{name} epochs"):
        if not clock:  # the loop's clock starts at its first epoch (resumed: where the history ends)
            clock.update(start=time.perf_counter(), before=history[-1].get("time_s", 0.0) if history else 0.0)
        # the batch order depends only on (seed, epoch): a resumed run redraws the same batches
        rng = np.random.default_rng([ctx.seed, epoch])
        rec = train_epoch(model, opt, data, loss_fn, device=device, rng=rng, parts=parts,
                          clusters_per_batch=cfg.clusters_per_batch, rg_weight=cfg.w_rg, accumulate=cfg.accumulate,
                          ctx=ctx)
        rec["epoch"] = epoch
        rec["val_loss"] = validation_loss(model, data, device, ctx)  # a host read: the device is done
        # training-loop seconds so far: every epoch and the checkpoints between them, not the final write
        rec["time_s"] = clock["before"] + time.perf_counter() - clock["start"]
        history.append(rec)
        if not rec["val_loss"] >= best["val_loss"]:  # NaN (no validation block) keeps the latest
            best.update(epoch=epoch, val_loss=rec["val_loss"],
                        weights={k: v.detach().clone() for k, v in model.state_dict().items()})
    seconds = ctx.elapsed_s - t0
    if best["weights"] is not None:
        model.load_state_dict(best["weights"])
    return model, history, seconds, {"epoch": best["epoch"], "val_loss": best["val_loss"]}


def run_train(ctx: RunContext[Any]) -> dict[str, Any]:
    """Train, keep the best validation epoch, evaluate on the test block and N+1..N+k, save the model."""
    from labkit.zeta_gnn._figures import draw_figures, validation_figure
    from labkit.zeta_gnn.predictor import ZetaPredictor
    from labkit.zeta_gnn.training import evaluate, prepare

    cfg = ctx.config
    count = cfg.n_zeros + cfg.predict_k + (1 if cfg.target == "spacing" else 0)
    with ctx.threads(cfg.threads):
        # rank 0 reads or computes the zeros (filling the cache), the other ranks receive them
        zeros, first = ctx.broadcast(load_zeros(cfg, count, ctx) if ctx.is_main else None)
        try:
            data = prepare(zeros, cfg.n_zeros, target=cfg.target, primes=cfg.primes, graph=cfg.graph, lags=cfg.lags,
                           seed=ctx.seed, first_index=first)
        except ValueError as exc:
            raise LabkitError(str(exc)) from None
        ctx.log.info("nodes %d, edges %d: train %d, validate %d, test %d, predict %d", data.n.size,
                     data.edge_index.shape[1], data.n_train, data.n_val - data.n_train, data.n_fit - data.n_val,
                     data.n.size - data.n_fit)
        model, history, seconds, best = fit(ctx, cfg, data, name="train")
        predictor = ZetaPredictor.from_training(model, data, cfg.hidden)
        pred = predictor.predict_raw(zeros=zeros)
        metrics = evaluate(data, pred)
        ctx.write_csv("history", history)
        ctx.write_csv("predictions", _prediction_rows(data, pred))
        ctx.save_artifact("model", predictor, factory="predictor", config=predictor.config,
                          description=f"ZetaGCN ({cfg.target} target, best validation epoch {best['epoch'] + 1} of "
                                      f"{cfg.epochs}) on zeros {first}..{first + cfg.n_zeros - 1}")
        results: dict[str, Any] = {
            "metrics": metrics, "spacing_law": cfg.spacing_law, "graph": cfg.graph, "train_seconds": seconds,
            "train_loop_s": history[-1]["time_s"] if history else 0.0,
            "nodes_per_second": _throughput(history, seconds), "final_loss": history[-1] if history else {},
            "validation": {**best, "zeros": [int(data.n[data.n_train]), int(data.n[data.n_val - 1])]
                           if data.n_val > data.n_train else []},
            "test_zeros": [int(data.n[data.n_val]), int(data.n[data.n_fit - 1])],
        }
        if cfg.ablation:
            other = "random" if cfg.graph == "adelic" else "adelic"
            data_b = prepare(zeros, cfg.n_zeros, target=cfg.target, primes=cfg.primes, graph=other, lags=cfg.lags,
                             seed=ctx.seed, first_index=first)
            model_b, _, _, _ = fit(ctx, cfg, data_b, name=f"ablation_{other}")
            pred_b = ZetaPredictor.from_training(model_b, data_b, cfg.hidden).predict_raw(zeros=zeros)
            results["ablation"] = {"graph": other, "metrics": evaluate(data_b, pred_b)}
        draw_figures(ctx, data, pred)
        ctx.save_figure(validation_figure(history, best["epoch"]), "validation")
    results["headline"] = _headline(cfg, metrics, results.get("ablation"))
    return results


def _prediction_rows(data: Any, pred: np.ndarray) -> list[dict[str, float]]:
    """``index, true, predicted, baseline`` of zeros N+1..N+k (spacing target: of the spacings s_n)."""
    sl = slice(data.n_fit, data.n.size)
    if data.target == "spacing":
        true, predicted, baseline = data.s_true[sl], pred[sl], np.ones(sl.stop - sl.start)
    else:
        true, baseline = data.t[sl], data.t_smooth[sl]
        predicted = pred[sl] if data.target == "ordinate" else data.t_smooth[sl] + pred[sl] / data.rho[sl]
    return [{"index": int(i), "true": float(a), "predicted": float(b), "baseline": float(c)}
            for i, a, b, c in zip(data.n[sl], true, predicted, baseline, strict=True)]


def _throughput(history: list[dict[str, float]], seconds: float) -> float:
    return float(sum(h.get("nodes", 0.0) for h in history) / seconds) if seconds > 0 and history else 0.0


def _headline(cfg: Any, m: dict[str, Any], ablation: dict[str, Any] | None) -> dict[str, Any]:
    if cfg.target == "spacing":
        head = {"test spacing RMSE model": m["test_spacing_model_rmse"],
                "test spacing RMSE linear(prev 10)": m["test_spacing_baseline_linear_prev10"],
                "test spacing RMSE const 1": m["test_spacing_baseline_const1"]}
        matched = [k for k in m if k.startswith("test_spacing_baseline_linear_prev") and k != "test_spacing_baseline_linear_prev10"]
        if matched:
            head[f"test spacing RMSE linear(prev {matched[0].rsplit('prev', 1)[1]}, same reach)"] = m[matched[0]]
        key = "test_spacing_model_rmse"
    else:
        head = {"test RMSE model (mean spacings)": m["test_model_rmse"],
                "test RMSE RvM baseline": m["test_baseline_rmse"],
                "test max err model": m["test_model_max"], "test max err baseline": m["test_baseline_max"]}
        if "future_model_rmse" in m:
            head["N+1..N+k RMSE model"] = m["future_model_rmse"]
            head["N+1..N+k RMSE baseline"] = m["future_baseline_rmse"]
        key = "test_model_rmse"
    head["KS pred spacings vs GUE"] = m["test_ks_pred_vs_gue"]
    head["KS true spacings vs GUE"] = m["test_ks_true_vs_gue"]
    if ablation is not None:
        head[f"test RMSE {ablation['graph']} edges"] = ablation["metrics"][key]
    return head
