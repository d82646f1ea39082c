"""The default route of ``g2-pinn:bryant-salamon``: an unrestricted 7-D network on the shell.

The network (``labkit.g2_pinn.shell_net.ShellNet``) reads (r, q1, q2) and gives all of phi; it is trained
on the real torsion with the boundary data at r1 and the radial gauge (see that module for why these make
the answer unique). Because the chart's metric components are not gauge invariant, the errors reported are
|Rm|^2 against the exact |Rm|^2 on the orbit of the same volume and the shell's volume
(``labkit.g2_pinn.invariants``), beside the metric error in the radial gauge the run fixes, the gauge and
boundary residuals, and how far the learned metric is from SU(2)^3-invariant (nothing imposes it).
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import torch

from labkit.core import RunContext, atomic_write_bytes
from labkit.g2_pinn._run_bryant_salamon import (
    curvature_scale,
    polish_lbfgs,
    progress_fields,
    torsion_and_metric_report,
    train_optimiser,
    uniform_points,
)
from labkit.g2_pinn.bryant_salamon import bs_metric, metric_relative_error
from labkit.g2_pinn.experiments import BryantSalamonConfig
from labkit.g2_pinn.invariants import gauge_invariant_errors
from labkit.g2_pinn.shell import sample_shell
from labkit.g2_pinn.shell_net import NetworkShellLoss, ShellNet, boundary_residual, gauge_residual, sample_slice

__all__ = ["network_report", "run_network"]


def _new_model(cfg: Any, seed: int, device: torch.device) -> ShellNet:
    torch.manual_seed(seed)
    return ShellNet(cfg.a, cfg.r1, cfg.r2, cfg.net_hidden, cfg.activation, cfg.init_scale, cfg.boundary,
                    cfg.gauge, cfg.net_degree).to(device)


def data_points(cfg: Any, generator: torch.Generator | None) -> torch.Tensor:
    """Points of the slices where phi is given: ``boundary_points`` on r1, and as many on r2 with ``data="both"``."""
    radii = (cfg.r1, cfg.r2) if cfg.data == "both" else (cfg.r1,)
    return torch.cat([sample_slice(cfg.boundary_points, r, generator) for r in radii])


def symmetry_defect(model: ShellNet, r: torch.Tensor, angles: torch.Tensor) -> float:
    """RMS over radii of |G(r, q) - mean_q G(r, q)|_F / |mean_q G|_F: 0 for an SU(2)^3-invariant metric."""
    x = torch.cat([r[:, None, None].expand(-1, len(angles), 1), angles.expand(len(r), -1, -1)], dim=-1)
    with torch.no_grad():
        G = model.frame_metric(x)
        mean = G.mean(1, keepdim=True)
        rel = torch.linalg.matrix_norm(G - mean) / torch.linalg.matrix_norm(mean)
    return float(rel.pow(2).mean().sqrt())


def network_report(model: ShellNet, x: torch.Tensor, x_curv: torch.Tensor, x_slice: torch.Tensor,
                   angles: torch.Tensor, cfg: Any, detail: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """Torsion, gauge-invariant errors, radial-gauge metric error, residuals and symmetry defect at held-out points.

    ``x_slice`` holds equally many points of the r1 and of the r2 slice: ``boundary_rms`` is the relative
    distance of phi from the exact phi on r1, ``outer_data_rms`` on r2 (a data residual with ``data="both"``,
    otherwise how far the error has grown across the shell).

    ``detail``, if given, receives the pointwise |Rm|^2 errors at ``x_curv`` (for the figure)."""
    a = float(cfg.a)
    with torch.no_grad():
        G = model.frame_metric(x)
        gauge = gauge_residual(G, x[:, 0], a)
        bdry = boundary_residual(model.frame_components, x_slice, a).unflatten(0, (2, -1))
    rep = {**torsion_and_metric_report(model, x, G, a),
           "gauge_rms": float(gauge.mean().sqrt()), "boundary_rms": float(bdry[0].mean().sqrt()),
           "outer_data_rms": float(bdry[1].mean().sqrt()),
           "symmetry_defect": symmetry_defect(model, torch.linspace(cfg.r1, cfg.r2, 9, dtype=x.dtype,
                                                                    device=x.device), angles)}
    rep.update(gauge_invariant_errors(model.metric, x_curv, angles, a, cfg.r1, cfg.r2, chunk=8, detail=detail))
    return rep


def run_network(ctx: RunContext[BryantSalamonConfig]) -> dict[str, Any]:
    """Train the 7-D network from the cone start with each optimiser; gauge-invariant errors; export."""
    cfg = ctx.config
    a = float(cfg.a)
    dev = torch.device(ctx.device)
    x_eval = uniform_points(cfg, cfg.eval_points, ctx.seed + 1001).to(dev)
    x_curv = uniform_points(cfg, cfg.curvature_points, ctx.seed + 3003).to(dev)
    gen = torch.Generator().manual_seed(ctx.seed + 5005)
    x_slice = sample_slice(cfg.eval_points, cfg.r1, gen).to(dev)
    angles = sample_slice(cfg.slice_points, cfg.r1, gen)[:, 1:].to(dev)
    x_slice = torch.cat([x_slice, sample_slice(cfg.eval_points, cfg.r2, gen).to(dev)])  # held-out points of both slices
    start = _new_model(cfg, ctx.seed, dev)
    details: dict[str, dict[str, torch.Tensor]] = {"start": {}}
    init = network_report(start, x_eval, x_curv, x_slice, angles, cfg, details["start"])
    exact_curv, riem_exact, curv_scale = curvature_scale(a, x_curv)
    loss_fn = NetworkShellLoss(a, cfg.w_gauge, cfg.w_boundary)

    def sample(g: torch.Generator | None, n: int = cfg.batch) -> tuple[torch.Tensor, torch.Tensor]:
        return sample_shell(n, cfg.r1, cfg.r2, g).to(dev), data_points(cfg, g).to(dev)

    per_opt: dict[str, Any] = {}
    models: dict[str, ShellNet] = {}
    for name in cfg.optimizers:
        model = _new_model(cfg, ctx.seed, dev)
        history, seconds = train_optimiser(ctx, name, model, sample, loss_fn)
        polish: dict[str, Any] = {}
        if cfg.polish_steps:
            before = network_report(model, x_eval, x_curv, x_slice, angles, cfg)
            fixed = sample(torch.Generator().manual_seed(ctx.seed + 8008), cfg.polish_points)
            polished, polish_s = polish_lbfgs(ctx, name, model, fixed, loss_fn)
            ctx.write_csv(f"history_{name}_lbfgs", polished)
            polish = {"polish_steps": len(polished), "polish_seconds_this_process": polish_s,
                      "polish_final_loss": polished[-1]["total"] if polished else math.nan,
                      "before_polish": {k: before[k] for k in ("torsion_rms", "metric_rel_error",
                                                              "kretschmann_rel_error_rms", "shell_volume_rel_error",
                                                              "ricci_rms")}}
            polish["before_polish"]["torsion_ratio"] = before["torsion_rms"] / init["torsion_rms"]
        details[name] = {}
        rep = network_report(model, x_eval, x_curv, x_slice, angles, cfg, details[name])
        rep.update(progress_fields(rep, init, curv_scale, riem_exact, history, seconds),
                   kretschmann_rel_error_rms_initial=init["kretschmann_rel_error_rms"], **polish)
        per_opt[name] = rep
        models[name] = model
        ctx.write_csv(f"history_{name}", history)
        ctx.save_artifact(f"shell_{name}", model, factory="shell-net", config=model.config,
                          description=f"Bryant-Salamon shell phi, 7-D network (a = {a:g}, r in [{cfg.r1:g}, "
                                      f"{cfg.r2:g}]) trained by {name}; |Rm|^2 error "
                                      f"{rep['kretschmann_rel_error_rms']:.2e}")
    headline: dict[str, Any] = {"route": "network", "a": a, "r1": cfg.r1, "r2": cfg.r2,
                                "metric_rel_error_initial": init["metric_rel_error"],
                                "kretschmann_rel_error_initial": init["kretschmann_rel_error_rms"],
                                "torsion_rms_initial": init["torsion_rms"],
                                "torsion_rms_initial_curvature_units": init["torsion_rms"] / curv_scale}
    for name, rep in per_opt.items():
        for key in ("torsion_ratio", "torsion_rms_curvature_units", "metric_rel_error", "kretschmann_rel_error_rms",
                    "shell_volume_rel_error", "ricci_rms"):
            headline[f"{key}_{name}"] = rep[key]
    valid = {"start_far_from_answer": init["metric_rel_error"] >= 0.2,
             "start_not_torsion_free": init["torsion_rms"] / curv_scale > 0.1,
             "exact_ricci_flat": float(exact_curv["ricci_sq"].abs().max().sqrt()) <= 1e-8 * riem_exact}
    for name, rep in per_opt.items():
        valid[f"{name}_gauge_invariant_error_le_1e-2"] = (rep["kretschmann_rel_error_rms"] <= 1e-2
                                                          and abs(rep["shell_volume_rel_error"]) <= 1e-2)
        valid[f"{name}_gauge_invariant_error_le_1e-3"] = (rep["kretschmann_rel_error_rms"] <= 1e-3
                                                          and abs(rep["shell_volume_rel_error"]) <= 1e-3)
    _export(ctx, cfg, start, models, details)
    return {"headline": headline, "optimizers": per_opt, "initial": init, "validation": valid,
            "exact": {"riem_rms": riem_exact, "ricci_abs_max": float(exact_curv["ricci_sq"].abs().max().sqrt()),
                      "curvature_scale": curv_scale},
            "problem": {
                "route": "network",
                "manifold": f"shell [r1, r2] x S^3 x S^3 of the spinor bundle of S^3 (Bryant-Salamon, a = {a:g})",
                "network": f"(s(r), q1, q2) -> {list(cfg.net_hidden)} -> "
                           f"{'35 components of phi' if cfg.gauge == 'term' else 'the 6x6 slice coframe P'}; "
                           "no SU(2)^3 symmetry built in",
                "boundary_data": f"phi = phi_BS on the slice r = r1 ({cfg.boundary})"
                                 + (f" and on r = r2 (trained, w_boundary = {cfg.w_boundary:g})" if cfg.data == "both" else ""),
                "gauge": ("radial gauge g(d_r, d_r) = 1/f(r), g(d_r, angular) = 0: "
                          + ("by construction, phi = phi0 pulled back by diag(f^-1/2, P(x))" if cfg.gauge == "frame"
                             else f"trained, w_gauge = {cfg.w_gauge:g}")),
                "start": "the cone through the data at r1",
                "proxies": "none (no det, normalisation or warm-start terms)",
                "gauge_invariant_error": "RMS over held-out points of |Rm|^2 / |Rm|^2_exact - 1, the exact value taken "
                                         "on the Bryant-Salamon orbit of the same volume; and the shell volume",
                "metric_error": "in the radial gauge the run fixes: RMS of |E^-T G E^-1 - I|_F / sqrt 7"}}


def _export(ctx: RunContext, cfg: Any, start: ShellNet, models: dict[str, ShellNet],
            details: dict[str, dict[str, torch.Tensor]]) -> None:
    """export/bryant_salamon.npz at held-out points sorted by r (frame metrics, Euler normalisation) and the figure."""
    import matplotlib.pyplot as plt

    from labkit.g2_pinn.charts import exp_quaternion

    x = uniform_points(cfg, cfg.export_points, ctx.seed + 9009).to(start.c_r1.device)
    x = x[torch.argsort(x[:, 0])]
    r = x[:, 0]
    with torch.no_grad():
        arrays = {"a": np.float64(cfg.a), "r": r.cpu().numpy(), "q1": exp_quaternion(x[:, 1:4]).cpu().numpy(),
                  "q2": exp_quaternion(x[:, 4:7]).cpu().numpy(), "G_init": start.frame_metric(x).cpu().numpy(),
                  "G_exact": bs_metric(r, cfg.a).cpu().numpy()}
        for name, model in models.items():
            arrays[f"G_{name}"] = model.frame_metric(x).cpu().numpy()
        arrays["G"] = arrays[f"G_{cfg.optimizers[0]}"]
        errs = {name: metric_relative_error(torch.as_tensor(arrays[f"G_{name}"]), r.cpu(), cfg.a).numpy()
                for name in [*models, "init"]}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (ctx.out_dir / "export").mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(ctx.out_dir / "export" / "bryant_salamon.npz", buf.getvalue())
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    rr = arrays["r"]
    ax[0].semilogy(rr, errs.pop("init"), "k--", label="start (cone through the r1 slice)")
    for name, e in errs.items():
        ax[0].semilogy(rr, np.maximum(e, 1e-16), ".", ms=3, label=name)
    ax[0].set(title="metric error in the radial gauge (7-D network)", xlabel="r")
    ax[0].legend(fontsize=7)
    for name, k in details.items():
        ax[1].semilogy(k["r_match"].cpu(), np.maximum(k["rel_error"].cpu().numpy(), 1e-16), "o", ms=3, label=name)
    ax[1].set(title="|Rm|^2 error against the exact orbit of the same volume", xlabel="matched Bryant-Salamon r")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    ctx.save_figure(fig, "bryant_salamon")
