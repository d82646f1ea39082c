"""Figures of the surrogate experiments (matplotlib imported inside each function)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _fig(ncols: int = 1, width: float = 5.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width * ncols, 3.6), squeeze=False)


def fid_training_figure(histories: dict[str, Sequence[dict]]) -> Any:
    """Training loss (squared relative L2 of the broadened FID) per epoch, one curve per surrogate kind."""
    fig, ax = _fig()
    a = ax[0, 0]
    for kind, hist in histories.items():
        a.semilogy([h["epoch"] for h in hist], [max(h["train_loss"], 1e-16) for h in hist], "o-", label=kind)
    a.set_xlabel("epoch")
    a.set_ylabel("train loss")
    a.legend()
    return fig


def accuracy_figure(rows: Sequence[dict], kinds: Sequence[str]) -> Any:
    """Median relative L2 per N of each surrogate kind and of both baselines (p90 as error bars)."""
    fig, ax = _fig()
    a = ax[0, 0]
    n = [r["n_spins"] for r in rows]
    for k, (key, label) in enumerate([*((kind, kind) for kind in kinds), ("first_order", "first order"), ("mean", "mean trajectory")]):
        med = [r[f"{key}_median"] for r in rows]
        up = [r[f"{key}_p90"] - m for r, m in zip(rows, med, strict=True)]
        a.errorbar([x + 0.08 * k for x in n], med, yerr=[[0.0] * len(med), up], fmt="o-", capsize=3, label=label)
    a.set_xlabel("N spins")
    a.set_ylabel("relative L2 (median, bar to p90)")
    a.legend()
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
