"""Post-training evaluation of the G2 PINN (torsion, FD check, curvature, det(g), spectra) and export."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import torch

from labkit.core import RunContext
from labkit.g2_pinn.algebra import induced_metric
from labkit.g2_pinn.constants import CONSTANTS
from labkit.g2_pinn.curvature import curvature
from labkit.g2_pinn.galerkin import galerkin_eigenvalues, group_multiplicities
from labkit.g2_pinn.geometry import flat_reference_metric
from labkit.g2_pinn.spectrum import laplacian_eigenvalues
from labkit.g2_pinn.torsion import fd_exterior_derivative, torsion

__all__ = ["evaluate", "export", "torsion_report"]


def _points(n: int, seed: int, dev: torch.device) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 7, generator=gen, dtype=torch.float64) * 2 * math.pi).to(dev)


def torsion_report(model: torch.nn.Module, x: torch.Tensor) -> dict[str, float]:
    """RMS |d phi|_g, |d*phi|_g over held-out points (chunked)."""
    sq_d, sq_s = [], []
    for s in range(0, len(x), 128):
        t = torsion(model, x[s:s + 128])
        sq_d.append(t["dphi_sq"].detach())
        sq_s.append(t["dstar_sq"].detach())
    return {"dphi_rms": float(torch.cat(sq_d).mean().sqrt()), "dstar_rms": float(torch.cat(sq_s).mean().sqrt())}


def _metric_fn(model: torch.nn.Module):
    return lambda y: induced_metric(model(y), check=False)


def evaluate(ctx: RunContext, model: torch.nn.Module, initial: torch.nn.Module,
             radii: tuple[float, float]) -> dict[str, Any]:
    """All the numbers a geometer needs side by side; the 'headline' goes into the summary table."""
    cfg, dev = ctx.config, next(model.parameters()).device
    x_eval = _points(cfg.eval_points, ctx.seed + 1001, dev)
    tors, tors0 = torsion_report(model, x_eval), torsion_report(initial, x_eval)
    # independent check of d phi: finite differences + alternating sum on points never trained on
    x_fd = _points(cfg.fd_points, ctx.seed + 2002, dev)
    auto = torsion(model, x_fd)["dphi"].detach()
    fd = fd_exterior_derivative(lambda y: model(y).detach(), x_fd, 3, h=1e-3)
    fd_err = float((auto - fd).abs().max())
    fd_scale = float(auto.abs().max())
    # curvature of the induced metric (autograd second derivatives) -- torsion means nothing without it
    x_c = _points(cfg.curvature_points, ctx.seed + 3003, dev)
    curv = curvature(_metric_fn(model), x_c, chunk=8)
    curv0 = curvature(_metric_fn(initial), x_c, chunk=8)
    with torch.no_grad():
        x_e = _points(cfg.export_points, ctx.seed + 4004, dev)
        phi = model(x_e)
        g = induced_metric(phi)
        det = torch.linalg.det(g)
        g_ref = flat_reference_metric(1, radii)[0].to(dev)
        dev_phi = float(((phi - model.phi_ref) ** 2).sum(-1).mean().sqrt() / model.phi_ref.norm())
        dev_g = float(((g - g_ref) ** 2).sum((-1, -2)).mean().sqrt() / g_ref.norm())
    det_np = det.cpu().numpy()
    round_neck_R = 6 / radii[0] ** 2 + 6 / radii[1] ** 2
    spec = spectra(ctx, model, radii)
    valid = {
        "fd_exterior_derivative_agrees": fd_err <= 1e-6 * max(1.0, fd_scale),
        "metric_positive_definite": bool((det > 0).all()),
        "torsion_decreased": tors["dphi_rms"] + tors["dstar_rms"] < tors0["dphi_rms"] + tors0["dstar_rms"],
        "metric_nontrivially_curved": float(curv["kretschmann"].abs().mean().sqrt()) > 1e-3 * round_neck_R,
    }
    headline = {
        "dphi_rms": tors["dphi_rms"], "dstar_rms": tors["dstar_rms"],
        "dphi_rms_init": tors0["dphi_rms"], "dstar_rms_init": tors0["dstar_rms"],
        "Rm_rms": float(curv["kretschmann"].abs().mean().sqrt()), "round_neck_R": round_neck_R,
        "dev_from_warm_start": dev_phi, "det_g_mean": float(det_np.mean()),
        "det_g_target": float(CONSTANTS.det_g_target),
        "lambda1_H_galerkin": spec["galerkin"]["lambda1_times_H"],
        "lambda1_H_diffmap": spec["diffusion_map"]["lambda1_times_H"], "lambda1_H_target": 13,
    }
    return {
        "headline": headline, "constants": CONSTANTS.as_dict(),
        "torsion": {"trained": tors, "initial": tors0, "eval_points": cfg.eval_points,
                    "norm": "RMS over points of the g-norm |.|_g (sorted-component convention)"},
        "fd_check": {"max_abs_diff": fd_err, "max_abs_dphi": fd_scale, "points": cfg.fd_points, "h": 1e-3},
        "curvature": {k: {"trained_mean": float(v.mean()), "initial_mean": float(curv0[k].mean()),
                          "trained_abs_max": float(v.abs().max())} for k, v in curv.items()},
        "curvature_reference": {"round_neck_scalar": round_neck_R, "flat_chart_scalar": 0.0},
        "warm_start_deviation": {"phi_relative_rms": dev_phi, "metric_relative_rms": dev_g},
        "det_g": {"mean": float(det_np.mean()), "std": float(det_np.std()), "min": float(det_np.min()),
                  "max": float(det_np.max()), "target": float(CONSTANTS.det_g_target), "points": len(det_np)},
        "spectrum": spec, "validation": valid,
        "_export": {"coords": x_e.cpu().numpy(), "metrics": g.cpu().numpy(), "phi": phi.cpu().numpy()},
    }


def spectra(ctx: RunContext, model: torch.nn.Module, radii: tuple[float, float]) -> dict[str, Any]:
    """Laplacian spectrum of the learned metric by both estimators, with the warm start's exact values."""
    cfg, dev = ctx.config, next(model.parameters()).device
    H = CONSTANTS.h_star
    K = cfg.galerkin_K
    n_grid = 2 * K + 1

    def metric_on(x: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for s in range(0, len(x), 8192):
                xt = torch.as_tensor(x[s:s + 8192], device=dev)
                out.append(induced_metric(model(xt)).cpu().numpy())
        return np.concatenate(out)

    lam_g = galerkin_eigenvalues(metric_on, 7, cfg.n_eigenvalues, K=K, n_grid=n_grid)
    g_ref = flat_reference_metric(1, radii)[0].numpy()
    lam_ref = galerkin_eigenvalues(lambda x: np.broadcast_to(g_ref, (len(x), 7, 7)), 7, cfg.n_eigenvalues, K=K)
    x = _points(cfg.spectrum_points, ctx.seed + 5005, dev).cpu().numpy()
    gx = metric_on(x)
    runs = {}
    for c in (0.2, 0.4, 0.8):  # sensitivity to the bandwidth rule's constant
        lam, info = laplacian_eigenvalues(x, cfg.n_eigenvalues, gx, period=2 * math.pi, neighbour_constant=c,
                                          seed=ctx.seed, return_info=True,
                                          device="cuda" if dev.type == "cuda" else "cpu")
        runs[c] = (lam, info)
    lam_d, info = runs[0.4]
    return {
        "galerkin": {"eigenvalues": lam_g.tolist(), "multiplicities": group_multiplicities(lam_g),
                     "lambda1": float(lam_g[1]), "lambda1_times_H": float(lam_g[1] * H), "K": K,
                     "grid": n_grid, "note": "Rayleigh-Ritz upper bounds, basis |k|_1 <= K"},
        "warm_start_exact": {"eigenvalues": lam_ref.tolist(), "multiplicities": group_multiplicities(lam_ref),
                             "lambda1_times_H": float(lam_ref[1] * H)},
        "diffusion_map": {"eigenvalues": lam_d.tolist(), "lambda1": float(lam_d[1]),
                          "lambda1_times_H": float(lam_d[1] * H), "epsilon": info.epsilon,
                          "dimension_estimate": info.dimension_estimate, "points": cfg.spectrum_points,
                          "sensitivity_lambda1": {str(c): float(r[0][1]) for c, r in runs.items()}},
        "target_lambda1": CONSTANTS.lambda1_target, "target_lambda1_times_H": 13,
    }


def export(ctx: RunContext, model: torch.nn.Module, history: list[dict], results: dict[str, Any]) -> None:
    """npy arrays, the loss history CSV and the four-panel figure."""
    import matplotlib.pyplot as plt

    from labkit.core import atomic_write_bytes

    arrays = results.pop("_export")
    exp_dir = ctx.out_dir / "export"
    exp_dir.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        buf = io.BytesIO()
        np.save(buf, arr)
        atomic_write_bytes(exp_dir / f"{name}.npy", buf.getvalue())
    results["export"] = {k: f"export/{k}.npy" for k in arrays}
    ctx.write_csv("history", history)
    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    steps = [h["step"] for h in history]
    for key in ("total", "torsion_dphi", "torsion_dstar", "proxy_det", "proxy_normalisation"):
        ax[0, 0].semilogy(steps, [max(h[key], 1e-300) for h in history], label=key)
    ax[0, 0].set(title="loss components", xlabel="step")
    ax[0, 0].legend(fontsize=7)
    ax[0, 1].plot(steps, [h["det_mean"] for h in history], label="mean det g")
    ax[0, 1].axhline(float(CONSTANTS.det_g_target), color="k", ls="--", label="65/32")
    ax[0, 1].set(title="det(g) over training", xlabel="step")
    ax[0, 1].legend(fontsize=7)
    sp = results["spectrum"]
    ax[1, 0].plot(sp["galerkin"]["eigenvalues"], "o", label="Fourier-Galerkin")
    ax[1, 0].plot(sp["diffusion_map"]["eigenvalues"], "x", label="diffusion map")
    ax[1, 0].plot(sp["warm_start_exact"]["eigenvalues"], "_", ms=12, label="warm start (exact)")
    ax[1, 0].axhline(CONSTANTS.lambda1_target, color="k", ls="--", label="13/99 target")
    ax[1, 0].set(title="Laplacian spectrum", xlabel="index")
    ax[1, 0].legend(fontsize=7)
    ax[1, 1].hist(np.linalg.det(arrays["metrics"]), bins=40)
    ax[1, 1].axvline(float(CONSTANTS.det_g_target), color="k", ls="--")
    ax[1, 1].set(title="det(g) histogram", xlabel="det g")
    fig.tight_layout()
    ctx.save_figure(fig, "summary")
