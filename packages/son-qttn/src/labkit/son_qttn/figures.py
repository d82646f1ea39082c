"""Matplotlib figures: trajectories, phase portraits, energy, TT ranks/spectra, image grids, the loop diagram."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _subplots(nrows: int = 1, ncols: int = 1, **fig_kw: Any) -> tuple[Figure, Any]:
    """``pyplot.subplots`` on the non-interactive Agg backend (figures are saved, never shown)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, **fig_kw)


def trajectories_figure(t: np.ndarray, q: np.ndarray, i: np.ndarray, energy: np.ndarray, n_show: int = 4) -> Any:
    """Node trajectories q_k(t), a phase portrait (q, I) and the energy over time."""
    fig, ax = _subplots(1, 3, figsize=(13, 3.6))
    for k in range(min(n_show, q.shape[1])):
        ax[0].plot(t, q[:, k], lw=0.8)
        ax[1].plot(q[:, k], i[:, k], lw=0.6)
    ax[0].set(xlabel="t", ylabel="q", title="node trajectories")
    ax[1].set(xlabel="q", ylabel="I = dq/dt", title="phase portrait")
    ax[2].semilogy(t, energy)
    ax[2].set(xlabel="t", ylabel="mean energy", title="energy")
    fig.tight_layout()
    return fig


def cycles_figure(history: Sequence[dict[str, Any]]) -> Any:
    """Per-cycle metrics of the feedback loop."""
    keys = ("compression_ratio", "recon_mse", "energy", "amplitude")
    fig, ax = _subplots(1, 4, figsize=(15, 3.3))
    c = [h["cycle"] for h in history]
    for a, k in zip(ax, keys, strict=False):
        a.plot(c, [h[k] for h in history], marker=".")
        a.set(xlabel="cycle", title=k)
        if k in ("recon_mse", "amplitude"):
            a.set_yscale("log")
    fig.tight_layout()
    return fig


def ranks_figure(ranks: Sequence[int], spectra: Sequence[np.ndarray] | None = None) -> Any:
    """TT ranks per bond and (optionally) the singular spectra of the unfoldings."""
    fig, ax = _subplots(1, 2, figsize=(10, 3.5))
    ax[0].bar(range(len(ranks)), ranks)
    ax[0].set(xlabel="bond", ylabel="rank", title="TT ranks")
    for k, s in enumerate(spectra or []):
        ax[1].semilogy(np.asarray(s) / max(float(s[0]), 1e-300), label=f"unfolding {k + 1}", lw=0.8)
    ax[1].set(xlabel="index", ylabel="sigma / sigma_1", title="singular spectra")
    if spectra:
        ax[1].legend(fontsize=6)
    fig.tight_layout()
    return fig


def image_grid_figure(original: np.ndarray, recon: np.ndarray, n: int = 8, title: str = "") -> Any:
    """Top row originals, bottom row reconstructions."""
    n = min(n, len(original))
    fig, ax = _subplots(2, n, figsize=(1.4 * n, 3.2))
    ax = np.atleast_2d(ax).reshape(2, n)
    for k in range(n):
        ax[0, k].imshow(original[k], cmap="gray")
        ax[1, k].imshow(recon[k], cmap="gray")
        ax[0, k].axis("off")
        ax[1, k].axis("off")
    ax[0, 0].set_title("original", fontsize=8, loc="left")
    ax[1, 0].set_title("reconstruction", fontsize=8, loc="left")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def loop_diagram_figure() -> Any:
    """The SON -> QTTN -> compression -> feedback diagram."""
    fig, ax = _subplots(figsize=(9, 2.8))
    boxes = [("SON\nlattice field V\n(lax.scan)", 0.1), ("QTTN\nTT-SVD of QTT\n(tol, max rank)", 0.37),
             ("compression\nTT cores\nratio, MSE", 0.63), ("feedback\npotential P = TT.full()", 0.9)]
    for text, x in boxes:
        ax.text(x, 0.6, text, ha="center", va="center", fontsize=9, bbox=dict(boxstyle="round", fc="#e8f0fe"))
    for (_, a), (_, b) in itertools.pairwise(boxes):
        ax.annotate("", xy=(b - 0.1, 0.6), xytext=(a + 0.1, 0.6), arrowprops=dict(arrowstyle="->"))
    ax.annotate("", xy=(0.1, 0.35), xytext=(0.9, 0.35), arrowprops=dict(arrowstyle="->", connectionstyle="arc3,rad=0.25"))
    ax.text(0.5, 0.08, "every update_frequency SON steps: dV += dt·gamma·(P − V)", ha="center", fontsize=8)
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.axis("off")
    return fig


def rate_distortion_figure(rows: Sequence[dict[str, Any]]) -> Any:
    """Relative error against stored numbers, one curve per method."""
    fig, ax = _subplots(figsize=(5.5, 4))
    for method in sorted({r["method"] for r in rows}):
        pts = sorted((r["n_params"], r["rel_error"]) for r in rows if r["method"] == method)
        ax.loglog(*zip(*pts, strict=False), marker="o", label=method)
    ax.set(xlabel="stored numbers", ylabel="relative Frobenius error", title="rate-distortion")
    ax.legend()
    fig.tight_layout()
    return fig


def energy_convergence_figure(curves: dict[str, Sequence[float]], xlabel: str = "sweep") -> Any:
    """Mean energy against sampler steps, one curve per label."""
    fig, ax = _subplots(figsize=(5.5, 4))
    for label, ys in curves.items():
        ax.plot(ys, label=label)
    ax.set(xlabel=xlabel, ylabel="mean energy", title="energy convergence")
    ax.legend()
    fig.tight_layout()
    return fig
