"""Figures of a training run: spacing histogram vs the surmise, residuals vs n, pair correlation, validation curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.zeta_gnn.baseline import density, unfold, unfolded_spacings
from labkit.zeta_gnn.spectral import gue_pair_correlation, pair_correlation, spacing_law, wigner_pdf

__all__ = ["draw_figures", "spacing_histogram", "validation_figure"]


def spacing_histogram(ax: Any, spacings: dict[str, np.ndarray]) -> None:
    """Histograms of unfolded spacings against the Wigner surmise and the exact Gaudin law."""
    grid = np.linspace(0, 3.5, 300)
    for label, s in spacings.items():
        ax.hist(s, bins=50, range=(0, 3.5), density=True, histtype="step", label=f"{label} (n={s.size})")
    ax.plot(grid, wigner_pdf(grid), "k--", lw=1, label="Wigner surmise")
    g = spacing_law("gaudin", points=201, smax=3.5)
    ax.plot(g.grid, g.pdf, "k:", lw=1, label="GUE (Gaudin)")
    ax.set_xlabel("unfolded spacing s")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)


def draw_figures(ctx: Any, data: Any, pred_raw: np.ndarray) -> None:
    """spacings.png, residuals.png, pair_correlation.png in the run's figures folder."""
    import matplotlib.pyplot as plt

    val = slice(data.n_val, data.n.size)  # the test block and the predicted zeros; never the validation block
    if data.target == "spacing":
        s_true, s_pred = data.s_true[val], pred_raw[val]
        x_true = np.cumsum(np.r_[0.0, s_true])
        x_pred = np.cumsum(np.r_[0.0, s_pred])
        err_model = s_pred - s_true
        err_base = 1.0 - s_true
        ylab = "spacing error (model − true)"
    else:
        t_hat = pred_raw[val] if data.target == "ordinate" else data.t_smooth[val] + pred_raw[val] / data.rho[val]
        rho = density(data.t[val])
        err_model = (t_hat - data.t[val]) * rho
        err_base = (data.t_smooth[val] - data.t[val]) * rho
        s_true, s_pred = unfolded_spacings(data.t[val]), unfolded_spacings(t_hat)
        x_true, x_pred = unfold(data.t[val]), unfold(t_hat)
        ylab = "error [mean spacings]"

    fig, ax = plt.subplots(figsize=(6, 4))
    spacing_histogram(ax, {"true (held out)": s_true, "model": s_pred})
    ax.set_title("Spacings of held-out zeros vs GUE")
    ctx.save_figure(fig, "spacings")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    n = data.n[val]
    ax.plot(n, err_base, ".", ms=2, alpha=0.5, label="smooth baseline" if data.target != "spacing" else "constant 1")
    ax.plot(n, err_model, ".", ms=2, alpha=0.5, label="model")
    ax.axvline(data.n_fit + 0.5, color="k", lw=0.8, ls="--")
    ax.set_xlabel("zero index n (test | predicted)")
    ax.set_ylabel(ylab)
    ax.legend(fontsize=7)
    ctx.save_figure(fig, "residuals")

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, x in (("true", x_true), ("model", x_pred)):
        u, r2 = pair_correlation(x)
        ax.plot(u, r2, label=label)
    u = np.linspace(0, 3, 300)
    ax.plot(u, gue_pair_correlation(u), "k--", lw=1, label="1 − (sin πu/πu)²")
    ax.set_xlabel("u (mean spacings)")
    ax.set_ylabel("R₂(u)")
    ax.legend(fontsize=7)
    ctx.save_figure(fig, "pair_correlation")


def validation_figure(history: list[dict[str, float]], best_epoch: int) -> Any:
    """Training MSE and validation MSE (standardised target) per epoch, the kept epoch marked."""
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] + 1 for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, [h["mse"] for h in history], label="train MSE")
    ax.plot(epochs, [h["val_loss"] for h in history], label="validation MSE")
    if best_epoch >= 0:
        ax.axvline(best_epoch + 1, color="k", lw=0.8, ls="--", label=f"kept: epoch {best_epoch + 1}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (standardised target)")
    values = [v for h in history for v in (h["mse"], h["val_loss"]) if np.isfinite(v) and v > 0]
    if values and max(values) / min(values) > 10:
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    return fig
