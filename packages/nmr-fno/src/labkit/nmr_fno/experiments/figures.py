"""Figures of the surrogate experiments (matplotlib imported inside each function)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _fig(ncols: int = 1, width: float = 5.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width * ncols, 3.6), squeeze=False)


def training_figure(history: Sequence[dict]) -> Any:
    """Loss components per epoch (log scale)."""
    fig, ax = _fig()
    a = ax[0, 0]
    ep = [h["epoch"] for h in history]
    for key in ("mse", "initial", "bound"):
        if history and key in history[0]:
            a.semilogy(ep, [max(h[key], 1e-16) for h in history], label=key)
    a.set_xlabel("epoch")
    a.set_ylabel("loss component")
    a.legend()
    return fig


def per_n_figure(rows: Sequence[dict], batch: int) -> Any:
    """RMSE and speed-up vs the block method, per N."""
    fig, ax = _fig(2)
    n = [r["n_spins"] for r in rows]
    ax[0, 0].semilogy(n, [r["rmse"] for r in rows], "o-", label="surrogate")
    if rows and "rmse_mean_baseline" in rows[0]:
        ax[0, 0].semilogy(n, [r["rmse_mean_baseline"] for r in rows], "s--", label="mean trajectory")
    if rows and "rmse_first_order" in rows[0]:
        ax[0, 0].semilogy(n, [r["rmse_first_order"] for r in rows], "^:", label="first-order (weak coupling)")
    ax[0, 0].set_xlabel("N spins")
    ax[0, 0].set_ylabel("RMSE (units of Mx(0))")
    ax[0, 0].legend()
    if rows and "speedup_b1" in rows[0]:
        ax[0, 1].semilogy(n, [r["speedup_b1"] for r in rows], "o-", label="batch 1")
        ax[0, 1].semilogy(n, [r[f"speedup_b{batch}"] for r in rows], "s-", label=f"batch {batch}")
        ax[0, 1].axhline(1.0, color="k", lw=0.5)
        ax[0, 1].set_xlabel("N spins")
        ax[0, 1].set_ylabel("speed-up vs exact block method")
        ax[0, 1].legend()
    return fig


def trajectory_figure(sur: Any, data: Any, index: int = -1) -> Any:
    """Surrogate (MC-dropout mean ± 2 std) against the exact trajectory for one held-out system."""
    from labkit.nmr_fno.uncertainty import mc_dropout_predict

    system = data.systems[index]
    mc = mc_dropout_predict(sur, [system], passes=10, check_range=False)
    t = sur.spec.times() * 1e3
    fig, ax = _fig(3, 4.0)
    for c, name in enumerate(("Mx", "My", "I1z")):
        a = ax[0, c]
        a.plot(t, data.y[index, c], "k", lw=1, label="exact")
        a.plot(t, mc.mean[0, c], "C1", lw=1, label="surrogate")
        a.fill_between(t, mc.mean[0, c] - 2 * mc.std[0, c], mc.mean[0, c] + 2 * mc.std[0, c], color="C1", alpha=0.3)
        a.set_title(f"{name}, N={system.n_spins}")
        a.set_xlabel("t (ms)")
    ax[0, 0].legend()
    return fig


def bars_figure(rows: Sequence[dict], x: str, y: str, ylabel: str, log: bool = True) -> Any:
    """Bar chart of ``y`` per ``x`` label (rows of a study)."""
    fig, ax = _fig()
    a = ax[0, 0]
    a.bar([str(r[x]) for r in rows], [r[y] for r in rows])
    if log:
        a.set_yscale("log")
    a.set_ylabel(ylabel)
    a.tick_params(axis="x", rotation=30)
    return fig
