"""The body of ``g2-pinn:train``: resumable training loop, then torsion/curvature/spectrum evaluation."""

from __future__ import annotations

import math
from typing import Any

import torch

from labkit.core import LabkitError, RunContext, Tracked
from labkit.g2_pinn.algebra import DegenerateMetricError
from labkit.g2_pinn.experiments import TrainConfig
from labkit.g2_pinn.losses import G2Loss, frame_det
from labkit.g2_pinn.model import G2PINN
from labkit.g2_pinn.optim import build_optimizer
from labkit.g2_pinn.schedules import PlateauSchedule, cosine_warmup

__all__ = ["run_train"]


def _optimizer(cfg: TrainConfig, model: torch.nn.Module, factory: Any, seed: int):
    """The optimizer ``factory`` (``ctx.resolve("optimizer", cfg.optimizer)``) builds, and its LR schedule."""
    opt = build_optimizer(factory, cfg.optimizer, model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                          seed=seed, total_steps=cfg.steps, agents=cfg.qimad_agents)
    if cfg.schedule == "plateau":
        return opt, PlateauSchedule(opt, cfg.warmup, cfg.plateau_factor, cfg.plateau_patience, cfg.lr_floor)
    if cfg.optimizer == "qimad":
        return opt, None  # QIMAD's own cooling, no LR schedule
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_warmup(s, cfg.warmup, cfg.steps))


def run_train(ctx: RunContext[TrainConfig]) -> dict[str, Any]:
    """Train, evaluate and export; returns the results dict (the runner writes results.json)."""
    from labkit.g2_pinn.evaluation import evaluate, export

    cfg = ctx.config
    dev = torch.device(ctx.device)
    radii = (float(cfg.radii[0]), float(cfg.radii[1]))
    model = G2PINN(cfg.hidden, cfg.activation, cfg.init_scale, cfg.chart, radii, r0=cfg.r0).to(dev)
    loss_fn = G2Loss(weights={
        "torsion_dphi": cfg.w_dphi, "torsion_dstar": cfg.w_dstar, "proxy_standard_form": cfg.w_standard_form,
        "proxy_det": cfg.w_det, "proxy_normalisation": cfg.w_normalisation, "proxy_smoothness": cfg.w_smoothness})
    opt, sched = _optimizer(cfg, model, ctx.resolve("optimizer", cfg.optimizer), ctx.seed)
    initial_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    history: list[dict[str, float]] = []
    stop = {"best": math.inf, "since": 0}
    # model selection: the training objective on held-out points, every select_every steps; the best
    # weights are kept (checkpointed) and are the ones evaluated and saved
    x_hold = model.chart.sample(cfg.holdout_points, torch.Generator().manual_seed(ctx.seed + 6006)).to(dev)
    best: dict[str, Any] = {"step": -1, "loss": math.inf, "state": None, "curve": []}

    def holdout_loss() -> float:
        try:
            return float(loss_fn(model, x_hold)[0].total.detach())
        except DegenerateMetricError:
            return math.inf

    swarm = cfg.optimizer == "qimad"

    def closure_factory(x: torch.Tensor, out: dict):
        def closure():
            opt.zero_grad(set_to_none=True)
            try:
                res, tors = loss_fn(model, x)
            except DegenerateMetricError:
                if not swarm:
                    raise
                # QIMAD evaluates trial agents: a non-positive 3-form is an invalid evaluation, which
                # never becomes the best and sends that agent back to the best weights
                out["degenerate"] = out.get("degenerate", 0) + 1
                return torch.tensor(math.nan, dtype=torch.float64, device=x.device)
            res.total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            out["res"], out["tors"] = res, tors
            return res.total
        return closure

    track: dict[str, Any] = {
        "model": model, "opt": opt,
        "history": Tracked(lambda: list(history), lambda v: history.__setitem__(slice(None), v)),
        "stop": Tracked(lambda: dict(stop), stop.update), "initial": Tracked(lambda: initial_state, initial_state.update),
        "best": Tracked(lambda: dict(best), best.update)}
    if sched is not None:
        track["sched"] = sched
    loop = ctx.loop(cfg.steps, track=track, checkpoint_every=cfg.checkpoint_every, name="train", desc="steps")
    for step in loop:
        x = model.chart.sample(cfg.batch, device=dev)  # global RNG: its state is checkpointed by the loop
        out: dict = {}
        try:
            total = opt.step(closure_factory(x, out))
        except DegenerateMetricError as exc:
            raise LabkitError(f"step {step}: {exc} (batch points {exc.points[:10]})") from exc
        if isinstance(sched, PlateauSchedule):
            sched.step(float(total.detach()))
        elif sched is not None:
            sched.step()
        rec = {"step": step, "total": float(total.detach()), "lr": float(opt.param_groups[0]["lr"]),
               "det_mean": math.nan, "det_std": math.nan, "degenerate_evals": out.get("degenerate", 0)}
        rec.update({k: math.nan for k in loss_fn.weights})
        if "res" in out:  # the last valid evaluation (with QIMAD: of the last agent that had one)
            with torch.no_grad():
                det = frame_det(out["tors"]["metric"], model.chart.coframe(x))
            rec.update(det_mean=float(det.mean()), det_std=float(det.std()))
            rec.update({k: float(v.detach()) for k, v in out["res"].components.items()})
        history.append(rec)
        if step % cfg.select_every == cfg.select_every - 1 or step == cfg.steps - 1:
            held = holdout_loss()
            best["curve"] = [*best["curve"], (step, held)]
            if held < best["loss"]:
                best.update(step=step, loss=held,
                            state={k: v.detach().clone() for k, v in model.state_dict().items()})
        if rec["total"] < stop["best"] * (1 - cfg.min_delta):
            stop["best"], stop["since"] = rec["total"], 0
        else:
            stop["since"] += 1
            if stop["since"] >= cfg.patience:
                ctx.log.info("early stop at step %d (no %.1e relative improvement in %d steps)",
                             step, cfg.min_delta, cfg.patience)
                loop.stop()
        if step % 10 == 0:
            ctx.log.info("step %d total %.3e dphi %.3e dstar %.3e det %.4f", step, rec["total"],
                         rec["torsion_dphi"], rec["torsion_dstar"], rec["det_mean"])

    last_holdout = holdout_loss()
    if best["state"] is not None and best["loss"] < last_holdout:
        model.load_state_dict(best["state"])
    else:  # an early stop between selections: the last weights are the best seen
        best.update(step=len(history) - 1, loss=last_holdout)
    initial = G2PINN(cfg.hidden, cfg.activation, cfg.init_scale, cfg.chart, radii, r0=cfg.r0).to(dev)
    initial.load_state_dict(initial_state)
    results = evaluate(ctx, model, initial)
    results["training"] = {"steps_run": len(history), "steps_max": cfg.steps, "optimizer": cfg.optimizer,
                           "early_stopped": len(history) < cfg.steps, "final": history[-1] if history else {},
                           "first": history[0] if history else {},
                           "selected": {"step": best["step"], "holdout_loss": best["loss"],
                                        "last_holdout_loss": last_holdout, "holdout_points": cfg.holdout_points,
                                        "curve": [list(c) for c in best["curve"]],
                                        "note": "weights with the lowest training objective on held-out points, "
                                                "checked every select_every steps; these are evaluated and saved"}}
    ctx.save_artifact("initial", initial, factory="g2-pinn", config=initial.config,
                      description="the same network at initialisation (the start training changed)")
    ctx.save_artifact("model", model, factory="g2-pinn", config=model.config,
                      description=f"G2 PINN on the {model.chart.name} neck, radii {list(radii)}: weights of step "
                                  f"{best['step']} (lowest held-out objective {best['loss']:.4e})")
    results["model"] = {"hidden": list(model.hidden), "activation": cfg.activation, "dtype": "float64",
                        "parameters": model.n_parameters(), "chart": model.chart.name, "radii": list(radii),
                        "input": ("(cos theta, sin theta, exp(y), exp(z)): 10 smooth functions on the neck"
                                  if model.chart.name == "round" else "7 periodic coords via (sin, cos)")}
    export(ctx, model, history, results)
    return results
