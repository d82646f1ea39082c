"""MC-dropout uncertainty for the surrogate: mean/std over stochastic passes and their calibration.

Only the Dropout modules are switched to train mode during the passes (the model has no batch
norm, but this keeps any future normalisation layer deterministic). With dropout p = 0 every pass
is identical and the std is exactly zero.

Example:
    >>> from labkit.nmr_fno.fno import FNOConfig
    >>> from labkit.nmr_fno.surrogate import Surrogate, SurrogateSpec
    >>> from labkit.nmr_fno.systems import random_system
    >>> sur = Surrogate.build(SurrogateSpec(n_max=3), FNOConfig(width=4, n_layers=2, dropout=0.0))
    >>> float(mc_dropout_predict(sur, [random_system(3, seed=0)], passes=3).std.max())
    0.0
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import stats

from labkit.nmr_fno.surrogate import Surrogate
from labkit.nmr_fno.systems import SpinSystem

__all__ = ["MCPrediction", "calibration", "dropout_active", "mc_dropout_predict"]


@dataclass
class MCPrediction:
    """Mean and std over MC-dropout passes, each (batch, 3, n_t); ``samples`` is (passes, batch, 3, n_t)."""

    mean: np.ndarray
    std: np.ndarray
    samples: np.ndarray
    out_of_range: list[int]


@contextmanager
def dropout_active(model) -> Iterator[None]:
    """Eval mode everywhere except Dropout layers (restored afterwards)."""
    import torch

    was = model.training
    model.eval()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.dropout._DropoutNd):
            m.train()
    try:
        yield
    finally:
        model.train(was)


def mc_dropout_predict(
    surrogate: Surrogate, systems: Sequence[SpinSystem], passes: int = 10, seed: int | None = 0, check_range: bool = True
) -> MCPrediction:
    """Run ``passes`` stochastic forward passes; warns (OutOfRangeWarning) with the std for OOD systems."""
    import torch

    if passes < 2:
        raise ValueError(f"passes: MC dropout needs at least 2 passes, got {passes}")
    x = surrogate.encode(systems)
    gen_state = torch.random.get_rng_state()
    if seed is not None:
        torch.manual_seed(seed)  # reproducible masks without disturbing the caller's RNG stream
    try:
        with dropout_active(surrogate.model), torch.no_grad():
            samples = np.stack([surrogate.model(x).cpu().numpy() for _ in range(passes)]).astype(np.float64)
    finally:
        if seed is not None:
            torch.random.set_rng_state(gen_state)
    mean, std = samples.mean(axis=0), samples.std(axis=0, ddof=1)
    bad = surrogate.warn_if_out_of_range(systems, std) if check_range else []
    return MCPrediction(mean, std, samples, bad)


def calibration(
    mean: np.ndarray, std: np.ndarray, target: np.ndarray, levels: Sequence[float] = (0.5, 0.68, 0.9, 0.95)
) -> dict:
    """Coverage of Gaussian intervals mean ± z·std at each nominal level, and std-vs-error correlation.

    Returns ``{"coverage": {level: fraction}, "spearman_std_error": rho, "pearson_std_error": r,
    "mean_std": ..., "rmse": ...}``; the correlations are over samples (per-sample mean std vs RMSE).

    >>> rng = np.random.default_rng(0); s = np.full((4000, 1, 1), 0.1)
    >>> abs(calibration(np.zeros_like(s), s, rng.normal(0, 0.1, s.shape))["coverage"][0.68] - 0.68) < 0.03
    True
    """
    mean, std, target = (np.asarray(a, dtype=np.float64) for a in (mean, std, target))
    if not (mean.shape == std.shape == target.shape):
        raise ValueError(f"mean, std, target must share a shape, got {mean.shape}, {std.shape}, {target.shape}")
    err = np.abs(mean - target)
    safe = np.maximum(std, 1e-300)
    coverage = {float(p): float(np.mean(err <= stats.norm.ppf(0.5 + p / 2) * safe)) for p in levels}
    axes = tuple(range(1, mean.ndim))
    s_std = std.mean(axis=axes)
    s_err = np.sqrt(np.mean((mean - target) ** 2, axis=axes))
    if s_std.size > 2 and np.ptp(s_std) > 0 and np.ptp(s_err) > 0:
        rho, pr = float(stats.spearmanr(s_std, s_err)[0]), float(np.corrcoef(s_std, s_err)[0, 1])
    else:
        rho = pr = float("nan")
    return {
        "coverage": coverage,
        "spearman_std_error": rho,
        "pearson_std_error": pr,
        "mean_std": float(std.mean()),
        "rmse": float(np.sqrt(np.mean((mean - target) ** 2))),
    }
