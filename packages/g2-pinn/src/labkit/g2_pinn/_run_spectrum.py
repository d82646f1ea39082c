"""The body of ``g2-pinn:spectrum``: diffusion-map eigenvalues of a known manifold or a saved metric."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from labkit.core import LabkitError, RunContext
from labkit.g2_pinn.constants import CONSTANTS
from labkit.g2_pinn.experiments import SpectrumConfig
from labkit.g2_pinn.galerkin import group_multiplicities
from labkit.g2_pinn.geometry import sample_neck, sample_s3
from labkit.g2_pinn.spectrum import laplacian_eigenvalues

__all__ = ["known_manifold", "run_spectrum"]


def _torus_levels(d: int, n: int) -> np.ndarray:
    """Exact flat-torus eigenvalues |k|^2 (period 2 pi), the n smallest with multiplicity."""
    import itertools

    vals = sorted(sum(v * v for v in k) for k in itertools.product(range(-3, 4), repeat=d))
    return np.array(vals[:n], dtype=float)


def known_manifold(source: str, n: int, rng: np.random.Generator, n_eig: int, torus_dim: int = 3):
    """Points, period and exact eigenvalues of s3 (unit), torus (T^d, period 2 pi), product S^1 x S^3, neck."""
    if source == "s3":
        exact = np.repeat([l * (l + 2) for l in range(8)], [(l + 1) ** 2 for l in range(8)])
        return sample_s3(n, rng), None, exact[:n_eig].astype(float)
    if source == "torus":
        return rng.uniform(0, 2 * math.pi, (n, torus_dim)), 2 * math.pi, _torus_levels(torus_dim, n_eig)
    if source == "product":
        th = rng.uniform(0, 2 * math.pi, n)
        pts = np.concatenate([np.stack([np.cos(th), np.sin(th)], 1), sample_s3(n, rng)], 1)
        vals = sorted(k * k + l * (l + 2) for k in range(-6, 7) for l in range(6) for _ in range((l + 1) ** 2))
        return pts, None, np.array(vals[:n_eig], dtype=float)
    if source == "neck":
        r1, r2 = CONSTANTS.neck_radii
        levels = sorted(k * k + a * (a + 2) / r1 ** 2 + b * (b + 2) / r2 ** 2 for k in range(-4, 5)
                        for a in range(6) for b in range(6) for _ in range((a + 1) ** 2 * (b + 1) ** 2))
        return sample_neck(n, rng), None, np.array(levels[:n_eig], dtype=float)
    raise LabkitError(f"unknown source {source!r}")


def load_saved_metric(folder: Path) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Points, per-point metrics and coordinate period from a train run's ``export/`` folder.

    A round-chart export has ambient points in R^10 with the learned metric pushed forward there
    (``ambient_points.npy``, ``ambient_metrics.npy``); a flat-chart export has periodic chart
    coordinates (``coords.npy``, ``metrics.npy``, period 2 pi). ``chart.json`` says which.
    """
    try:
        chart = json.loads((folder / "chart.json").read_text()) if (folder / "chart.json").exists() else {}
        if chart.get("name", "flat") == "round":
            return np.load(folder / "ambient_points.npy"), np.load(folder / "ambient_metrics.npy"), None
        return np.load(folder / "coords.npy"), np.load(folder / "metrics.npy"), 2 * math.pi
    except (OSError, ValueError) as exc:
        raise LabkitError(f"config field 'path': cannot read the exported metric in {folder}: {exc}") from exc


def run_spectrum(ctx: RunContext[SpectrumConfig]) -> dict[str, Any]:
    """Eigenvalues, exact reference (where known), relative errors and bandwidth sensitivity."""
    cfg = ctx.config
    device = ctx.device if cfg.device == "auto" else cfg.device
    rng = np.random.default_rng(ctx.seed)
    metric = None
    if cfg.source == "saved":
        folder = Path(cfg.path)
        pts, metric, period = load_saved_metric(folder / "export" if (folder / "export").is_dir() else folder)
        exact = None
    else:
        pts, period, exact = known_manifold(cfg.source, cfg.n_points, rng, cfg.n_eigenvalues, cfg.torus_dim)
    try:
        lam, info = laplacian_eigenvalues(pts, cfg.n_eigenvalues, metric, period=period, seed=ctx.seed,
                                          neighbour_constant=cfg.neighbour_constant, device=device,
                                          return_info=True)
        sens = {str(f): float(laplacian_eigenvalues(pts, 2, metric, period=period, seed=ctx.seed, device=device,
                                                    neighbour_constant=cfg.neighbour_constant * f)[1])
                for f in (0.5, 2.0)}
    except ValueError as exc:
        raise LabkitError(str(exc)) from exc
    out: dict[str, Any] = {
        "source": cfg.source, "points": len(pts), "eigenvalues": lam.tolist(),
        "clusters": group_multiplicities(lam, rtol=0.1), "epsilon": info.epsilon,
        "dimension_estimate": info.dimension_estimate, "mean_neighbours": info.mean_neighbours,
        "backend": info.backend, "sensitivity_lambda1": {"c x1": float(lam[1]), **{f"c x{k}": v for k, v in sens.items()}},
    }
    head: dict[str, Any] = {"lambda1": float(lam[1])}
    if exact is not None:
        rel = (lam[1:] - exact[1:]) / exact[1:]
        out.update(exact=exact.tolist(), relative_error=rel.tolist(), max_abs_relative_error=float(np.abs(rel).max()))
        head.update(lambda1_exact=float(exact[1]), max_rel_err=float(np.abs(rel).max()))
    else:
        head.update(lambda1_times_H=float(lam[1] * CONSTANTS.h_star), target=13)
    if cfg.source == "saved" and cfg.galerkin:
        neck = _galerkin_of_run(Path(cfg.path))
        if neck is not None:
            out["galerkin_neck"] = neck
            head.update(lambda1_galerkin=neck["trained"]["lambda"][1],
                        lambda1_galerkin_initial=neck["initial"]["lambda"][1],
                        lambda1_change_relative=neck["change_lambda1_relative"])
    out["headline"] = head
    _figure(ctx, lam, exact, cfg.source)
    return out


def _galerkin_of_run(folder: Path) -> dict[str, Any] | None:
    """Galerkin spectra of a round-neck train run's ``model`` and ``initial`` artifacts (None otherwise)."""
    from labkit.core import load_run
    from labkit.g2_pinn.neck_spectrum import neck_spectrum

    try:
        run = load_run(folder)
    except (OSError, ValueError, LabkitError):
        return None
    if not {"model", "initial"} <= set(run.artifacts) or run.config.get("chart") != "round":
        return None
    trained, initial = neck_spectrum(run.artifact("model")), neck_spectrum(run.artifact("initial"))
    r1 = float(run.config["radii"][0])
    change = trained["lambda"][1] - initial["lambda"][1]
    return {"trained": trained, "initial": initial, "reference_lambda1": 3 / r1 ** 2,
            "change_lambda1": change, "change_lambda1_relative": change / initial["lambda"][1],
            "error_bar_lambda1": abs(trained["truncation"][1]) + abs(trained["quadrature"][1])
            + abs(initial["truncation"][1]) + abs(initial["quadrature"][1])}


def _figure(ctx: RunContext, lam: np.ndarray, exact: np.ndarray | None, source: str) -> None:
    """figures/spectrum.png: the eigenvalues by index, beside the exact ones where known."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(len(lam)), lam, "x", label="diffusion map")
    if exact is not None:
        ax.plot(np.arange(len(exact)), exact, "_", ms=14, label="exact")
    ax.set(title=f"Laplace-Beltrami spectrum ({source})", xlabel="index", ylabel="eigenvalue")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.save_figure(fig, "spectrum")
