"""The body of ``g2-pinn:bryant-salamon``: find the Bryant–Salamon structure on a shell from its data at r1.

For each optimiser (AdamW, QIMAD) the same start -- the cone through the Bryant–Salamon slice at r1 --
is trained on the real torsion (no proxies), resumably, and compared with the exact answer: torsion
ratio (also in units of the curvature scale), metric error in the exact orthonormal coframe before and
after, Ricci of the learned metric (package curvature code), and the base-S^3 size r^2 / 12, which the
gauge does not impose and so checks the solution independently.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from labkit.core import LabkitError, RunContext, Tracked, atomic_write_bytes
from labkit.g2_pinn.algebra import DegenerateMetricError
from labkit.g2_pinn.bryant_salamon import base_size, exact_metric_field, metric_relative_error
from labkit.g2_pinn.curvature import curvature
from labkit.g2_pinn.experiments import BryantSalamonConfig
from labkit.g2_pinn.optim import build_optimizer
from labkit.g2_pinn.schedules import cosine_warmup
from labkit.g2_pinn.shell import ShellLoss, ShellPhi, sample_shell
from labkit.g2_pinn.torsion import torsion

__all__ = ["curvature_scale", "polish_lbfgs", "run_bryant_salamon", "shell_report", "train_optimiser", "uniform_points"]


def uniform_points(cfg: Any, n: int, seed: int) -> torch.Tensor:
    """Held-out points: r uniform on the shell (not the training density), S^3 factors Haar."""
    gen = torch.Generator().manual_seed(seed)
    r = cfg.r1 + (cfg.r2 - cfg.r1) * torch.rand(n, 1, generator=gen, dtype=torch.float64)
    return torch.cat([r, sample_shell(n, cfg.r1, cfg.r2, gen)[:, 1:]], dim=1)


def curvature_scale(a: float, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], float, float]:
    """The exact curvature at x, its RMS |Rm| and the curvature scale sqrt(RMS |Rm|) (1/length, the unit of torsion)."""
    exact = curvature(exact_metric_field(a), x, chunk=8)
    riem = float(exact["kretschmann"].mean().sqrt())
    return exact, riem, math.sqrt(riem)


def torsion_and_metric_report(model: torch.nn.Module, x: torch.Tensor, G: torch.Tensor, a: float) -> dict[str, float]:
    """RMS of |d phi| + |d*phi| (and of each) at ``x``, and the relative error of the frame metrics ``G`` there."""
    t = torsion(model, x)
    tors = (t["dphi_sq"].sqrt() + t["dstar_sq"].sqrt()).detach()
    err = metric_relative_error(G, x[:, 0], a)
    return {"torsion_rms": float(tors.pow(2).mean().sqrt()),
            "dphi_rms": float(t["dphi_sq"].detach().mean().sqrt()),
            "dstar_rms": float(t["dstar_sq"].detach().mean().sqrt()),
            "metric_rel_error": float(err.pow(2).mean().sqrt()), "metric_rel_error_max": float(err.max())}


def progress_fields(rep: dict[str, Any], init: dict[str, Any], curv_scale: float, riem_exact: float,
                    history: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """An optimiser's report against the start: torsion ratio, scaled torsion, relative Ricci, steps and time."""
    return {"torsion_ratio": rep["torsion_rms"] / init["torsion_rms"],
            "torsion_rms_curvature_units": rep["torsion_rms"] / curv_scale,
            "metric_rel_error_initial": init["metric_rel_error"],
            "ricci_rms_relative": rep["ricci_rms"] / riem_exact,
            "steps": len(history), "train_seconds_this_process": seconds,
            "seconds_per_step": seconds / max(len(history), 1),
            "final_loss": history[-1]["total"] if history else math.nan}


def shell_report(model: ShellPhi, x: torch.Tensor, x_curv: torch.Tensor, a: float) -> dict[str, Any]:
    """Torsion RMS (|d phi| + |d*phi|), metric error, base-size check and curvature of ``model`` at held-out points."""
    r = x[:, 0]
    with torch.no_grad():
        G = model.frame_metric(r)
        size = 12 * base_size(G) / r ** 2 - 1
    curv = curvature(model.metric, x_curv, chunk=8)
    return {**torsion_and_metric_report(model, x, G, a),
            "base_size_rel_error_max": float(size.abs().max()),
            "ricci_rms": float(curv["ricci_sq"].clamp_min(0).mean().sqrt()),
            "riem_rms": float(curv["kretschmann"].clamp_min(0).mean().sqrt()),
            "scalar_abs_max": float(curv["scalar"].abs().max())}


def _optimizer(ctx: RunContext[BryantSalamonConfig], name: str, model: torch.nn.Module):
    """The optimizer ``name`` from the registry (no weight decay) and the cosine schedule both share."""
    cfg = ctx.config
    lr, steps = (cfg.qimad_lr, cfg.qimad_steps) if name == "qimad" else (cfg.lr, cfg.steps)
    opt = build_optimizer(ctx.resolve("optimizer", name), name, model.parameters(), lr=lr, weight_decay=0.0,
                          seed=ctx.seed, total_steps=steps, agents=cfg.qimad_agents)
    # the same schedule for both (QIMAD reads its eta from the group's lr, which the scheduler writes)
    warmup = min(cfg.warmup, steps - 1)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_warmup(s, warmup, steps))


def _new_model(cfg: Any, seed: int) -> ShellPhi:
    torch.manual_seed(seed)
    return ShellPhi(cfg.a, cfg.r1, cfg.r2, cfg.hidden, cfg.activation, cfg.init_scale, cfg.degree, cfg.quadrature)


def train_optimiser(ctx: RunContext[BryantSalamonConfig], name: str, model: torch.nn.Module,
           sample: Callable[[torch.Generator | None], tuple[torch.Tensor, ...]],
           loss_fn: Callable[..., tuple[dict[str, torch.Tensor], Any]]) -> tuple[list[dict[str, float]], float]:
    """One optimiser's resumable loop on ``loss_fn(model, *sample(generator))``; its history and wall time here.

    ``sample(None)`` draws from the global RNG, whose state the loop checkpoints; QIMAD gets one fixed draw.
    """
    cfg = ctx.config
    opt, sched = _optimizer(ctx, name, model)
    # QIMAD keeps the best weights by loss value, which compares across steps only on the same points
    fixed = sample(torch.Generator().manual_seed(ctx.seed + 7007)) \
        if name == "qimad" and cfg.qimad_fixed_points else None
    return _optimise(ctx, f"train-{name}", name, model, opt, sched, cfg.steps if name == "adamw" else cfg.qimad_steps,
                     cfg.checkpoint_every, (lambda: fixed) if fixed is not None else (lambda: sample(None)), loss_fn,
                     clip=cfg.clip, invalid_agents=name == "qimad", log_every=25)


def polish_lbfgs(ctx: RunContext[BryantSalamonConfig], name: str, model: torch.nn.Module,
                 batch: tuple[torch.Tensor, ...], loss_fn: Callable[..., tuple[dict[str, torch.Tensor], Any]]
                 ) -> tuple[list[dict[str, float]], float]:
    """L-BFGS with a strong-Wolfe line search on one fixed draw of collocation points, after optimiser ``name``.

    The usual last stage of a PINN: a first-order optimiser on fresh points gets near the answer, then
    a quasi-Newton method on fixed points drives the residual down by orders of magnitude (the held-out
    report tells whether it generalises). ``cfg.polish_steps`` resumable steps of ``cfg.polish_iters``
    iterations each; the L-BFGS memory is checkpointed with the model. The history's ``total`` is the
    loss at the start of each step (what ``LBFGS.step`` returns). History and wall time here.
    """
    cfg = ctx.config
    opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=cfg.polish_iters, history_size=cfg.polish_memory,
                            line_search_fn="strong_wolfe")
    return _optimise(ctx, f"polish-{name}", f"{name} + L-BFGS", model, opt, None, cfg.polish_steps,
                     max(1, cfg.checkpoint_every // cfg.polish_iters), lambda: batch, loss_fn,
                     clip=0.0, invalid_agents=False, log_every=5)


def _optimise(ctx: RunContext[BryantSalamonConfig], label: str, desc: str, model: torch.nn.Module, opt: Any, sched: Any,
              steps: int, checkpoint_every: int, next_batch: Callable[[], tuple[torch.Tensor, ...]],
              loss_fn: Callable[..., tuple[dict[str, torch.Tensor], Any]], *, clip: float, invalid_agents: bool,
              log_every: int) -> tuple[list[dict[str, float]], float]:
    """The resumable loop both stages share: ``opt.step(closure)`` on ``next_batch()``, one history row per step.

    ``clip`` > 0 clips the gradient norm in the closure (not with a line search). ``invalid_agents``: a
    degenerate metric scores NaN instead of failing (QIMAD's trial agents, see _run_train.py).
    ``cfg.time_limit`` stops the loop early.
    """
    cfg = ctx.config
    history: list[dict[str, float]] = []
    track = {"model": model, "opt": opt, **({"sched": sched} if sched is not None else {}),
             "history": Tracked(lambda: list(history), lambda v: history.__setitem__(slice(None), v))}
    loop = ctx.loop(steps, track=track, checkpoint_every=checkpoint_every, name=label, desc=desc)
    t0 = time.perf_counter()
    for step in loop:
        batch = next_batch()
        out: dict = {}

        def closure(batch: tuple[torch.Tensor, ...] = batch, out: dict = out) -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            try:
                terms, _ = loss_fn(model, *batch)
            except DegenerateMetricError:
                if not invalid_agents:
                    raise
                return torch.tensor(math.nan, dtype=torch.float64)
            terms["total"].backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            out["terms"] = terms
            return terms["total"]

        try:
            total = opt.step(closure)
        except DegenerateMetricError as exc:
            raise LabkitError(f"{desc} step {step}: {exc}") from exc
        if sched is not None:
            sched.step()
        rec = {"step": step, "total": float(total.detach())}
        rec.update({k: float(v.detach()) for k, v in out.get("terms", {}).items() if k != "total"})
        history.append(rec)
        if step % log_every == 0:
            ctx.log.info("%s step %d loss %.3e", desc, step, rec["total"])
        if cfg.time_limit and time.perf_counter() - t0 > cfg.time_limit:
            ctx.log.info("%s: time limit %.0f s reached at step %d", desc, cfg.time_limit, step)
            loop.stop()
    return history, time.perf_counter() - t0


def run_bryant_salamon(ctx: RunContext[BryantSalamonConfig]) -> dict[str, Any]:
    """Train from the cone start with each optimiser; report against the exact solution and export."""
    cfg = ctx.config
    if cfg.route == "network":
        from labkit.g2_pinn._run_shell_network import run_network

        return run_network(ctx)
    a = float(cfg.a)
    x_eval = uniform_points(cfg, cfg.eval_points, ctx.seed + 1001)
    x_curv = uniform_points(cfg, cfg.curvature_points, ctx.seed + 3003)
    start = _new_model(cfg, ctx.seed)
    init = shell_report(start, x_eval, x_curv, a)
    exact_curv, riem_exact, curv_scale = curvature_scale(a, x_curv)
    per_opt: dict[str, Any] = {}
    models: dict[str, ShellPhi] = {}
    for name in cfg.optimizers:
        model = _new_model(cfg, ctx.seed)
        history, seconds = train_optimiser(
            ctx, name, model, lambda gen: (sample_shell(cfg.batch, cfg.r1, cfg.r2, gen),), ShellLoss())
        rep = shell_report(model, x_eval, x_curv, a)
        rep.update(progress_fields(rep, init, curv_scale, riem_exact, history, seconds))
        per_opt[name] = rep
        models[name] = model
        ctx.write_csv(f"history_{name}", history)
        ctx.save_artifact(f"shell_{name}", model, factory="shell", config=model.config,
                          description=f"Bryant-Salamon shell phi (a = {a:g}, r in [{cfg.r1:g}, {cfg.r2:g}]) "
                                      f"trained by {name}; metric error {rep['metric_rel_error']:.2e}")
    headline: dict[str, Any] = {"a": a, "r1": cfg.r1, "r2": cfg.r2,
                                "metric_rel_error_initial": init["metric_rel_error"],
                                "torsion_rms_initial": init["torsion_rms"],
                                "torsion_rms_initial_curvature_units": init["torsion_rms"] / curv_scale}
    for name, rep in per_opt.items():
        for key in ("torsion_ratio", "torsion_rms_curvature_units", "metric_rel_error", "ricci_rms"):
            headline[f"{key}_{name}"] = rep[key]
    valid = {"start_far_from_answer": init["metric_rel_error"] >= 0.2,
             "start_not_torsion_free": init["torsion_rms"] / curv_scale > 0.1,
             "exact_ricci_flat": float(exact_curv["ricci_sq"].abs().max().sqrt()) <= 1e-8 * riem_exact}
    for name, rep in per_opt.items():
        valid[f"{name}_metric_error_le_1e-2"] = rep["metric_rel_error"] <= 1e-2
        valid[f"{name}_torsion_reduced_20x"] = rep["torsion_ratio"] <= 1 / 20
    _export(ctx, cfg, start, models, per_opt, init)
    return {"headline": headline, "optimizers": per_opt, "initial": init, "validation": valid,
            "exact": {"riem_rms": riem_exact, "ricci_abs_max": float(exact_curv["ricci_sq"].abs().max().sqrt()),
                      "curvature_scale": curv_scale},
            "problem": {
                "manifold": f"shell [r1, r2] x S^3 x S^3 of the spinor bundle of S^3 (Bryant-Salamon, a = {a:g})",
                "ansatz": "SU(2)^3-invariant phi = sum_k c_k(r) INVARIANT_FORMS[k]; torsion through the 7-D forward-mode code",
                "boundary_data": "c_1..4(r1) = Bryant-Salamon's, held exactly",
                "gauge": "c_0 (the dr ^ sum nu_i sigma_i coefficient) = c_0(r1) (r/r1)^2; a reparametrisation r -> s(r) "
                         "reaches any positive c_0, so this fixes the radial gauge",
                "start": "the cone through the data at r1 (c_k(r1) (r/r1)^3)",
                "proxies": "none (no det, normalisation or warm-start terms)",
                "metric_error": "RMS over held-out points (r uniform) of |E^-T G E^-1 - I|_F / sqrt 7, E the exact orthonormal coframe",
                "independent_check": "base_size_rel_error_max: 12 (1/(G^-1)_{sigma sigma}) / r^2 - 1, not imposed"}}


def _export(ctx: RunContext, cfg: Any, start: ShellPhi, models: dict[str, ShellPhi], per_opt: dict[str, Any],
            init: dict[str, Any]) -> None:
    """export/bryant_salamon.npz (metrics in the coframe (dr, sigma, nu), Euler normalisation) and the figure."""
    import matplotlib.pyplot as plt

    from labkit.g2_pinn.bryant_salamon import bs_metric

    r = torch.linspace(cfg.r1, cfg.r2, cfg.export_points, dtype=torch.float64)
    with torch.no_grad():
        arrays = {"a": np.float64(cfg.a), "r": r.numpy(), "G_init": start.frame_metric(r).numpy(),
                  "G_exact": bs_metric(r, cfg.a).numpy()}
        for name, model in models.items():
            arrays[f"G_{name}"] = model.frame_metric(r).numpy()
        arrays["G"] = arrays[f"G_{cfg.optimizers[0]}"]
        errs = {name: metric_relative_error(torch.as_tensor(arrays[f"G_{name}"]), r, cfg.a).numpy() for name in models}
        err0 = metric_relative_error(torch.as_tensor(arrays["G_init"]), r, cfg.a).numpy()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (ctx.out_dir / "export").mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(ctx.out_dir / "export" / "bryant_salamon.npz", buf.getvalue())
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].semilogy(r, err0, "k--", label="start (cone through the r1 slice)")
    for name, e in errs.items():
        ax[0].semilogy(r, np.maximum(e, 1e-16), label=f"{name}: RMS {per_opt[name]['metric_rel_error']:.1e}")
    ax[0].set(title="metric error vs Bryant-Salamon (orthonormal coframe)", xlabel="r")
    ax[0].legend(fontsize=7)
    for i, lab in ((0, "g_rr"), (1, "g_sigma sigma"), (4, "g_nu nu")):
        ax[1].plot(r, arrays["G_exact"][:, i, i], "k", lw=3, alpha=0.3)
        ax[1].plot(r, arrays["G_init"][:, i, i], "k--", lw=1)
        ax[1].plot(r, arrays["G"][:, i, i], label=f"{lab} ({cfg.optimizers[0]})")
    ax[1].set(title="metric coefficients: exact (grey), start (dashed), learned", xlabel="r")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    ctx.save_figure(fig, "bryant_salamon")
    ctx.log.info("initial metric error %.3f, torsion %.3e", init["metric_rel_error"], init["torsion_rms"])
