"""Smooth Riemann–von Mangoldt baselines and unfolding, in units of the local mean spacing.

N(T) = T/(2π) log(T/(2πe)) + 7/8 + S(T) + O(1/T). Dropping S(T) and solving N(t_n) = n - 1/2
gives t̃_n = 2π(n − 11/8) / W((n − 11/8)/e) (Lambert W, principal branch). Its error is S(t) in
disguise (RMS ≈ 0.32 mean spacings near n = 1e5): a model that sees only n cannot be expected to
beat it. The spacing baselines (linear regressions on neighbouring spacings) are the fair
references for a model that predicts spacings.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "density",
    "fit_linear_spacing",
    "lagged_spacings",
    "mean_spacing",
    "smooth_count",
    "smooth_zeros",
    "spacing_baselines",
    "unfold",
    "unfolded_spacings",
]

_TWO_PI = 2.0 * np.pi


def smooth_zeros(n: np.ndarray | float) -> np.ndarray:
    """t̃_n = 2π(n − 11/8)/W((n − 11/8)/e), vectorised over n >= 1.

    Example:
        >>> float(np.round(smooth_zeros(np.array([1e5]))[0], 3))
        74920.891
    """
    from scipy.special import lambertw

    n = np.asarray(n, dtype=np.float64)
    if np.any(~np.isfinite(n)) or np.any(n < 1):
        raise ValueError("n: zero indices must be finite and >= 1")
    a = n - 11.0 / 8.0
    # n = 1 gives a < 0: W stays real on the principal branch since a/e > -1/e
    return _TWO_PI * a / np.real(lambertw(a / np.e))


def smooth_count(t: np.ndarray | float) -> np.ndarray:
    """N̄(t) = t/(2π) log(t/(2πe)) + 7/8 (the smooth zero-counting function).

    Example:
        >>> float(np.round(smooth_count(np.array([100.0]))[0], 4))
        29.0023
    """
    t = np.asarray(t, dtype=np.float64)
    return t / _TWO_PI * np.log(t / (_TWO_PI * np.e)) + 7.0 / 8.0


def density(t: np.ndarray | float) -> np.ndarray:
    """Local density of zeros log(t/2π)/(2π) = dN̄/dt.

    Example:
        >>> float(np.round(density(np.array([2 * np.pi * np.e]))[0] * 2 * np.pi, 12))
        1.0
    """
    t = np.asarray(t, dtype=np.float64)
    return np.log(t / _TWO_PI) / _TWO_PI


def mean_spacing(t: np.ndarray | float) -> np.ndarray:
    """Local mean spacing 2π/log(t/2π)."""
    return 1.0 / density(t)


def unfold(t: np.ndarray) -> np.ndarray:
    """Unfolded positions N̄(t_n): mean spacing 1 everywhere."""
    return smooth_count(t)


def unfolded_spacings(t: np.ndarray) -> np.ndarray:
    """Spacings of consecutive ordinates in local mean-spacing units, N̄(t_{n+1}) − N̄(t_n).

    Example:
        >>> from labkit.zeta_gnn.tables import shipped_zeros
        >>> s = unfolded_spacings(shipped_zeros()[:10000]); bool(abs(s.mean() - 1) < 0.01)
        True
    """
    return np.diff(unfold(np.asarray(t, dtype=np.float64)))


def lagged_spacings(s: np.ndarray, before: int, after: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix of neighbouring spacings for predicting s_i; returns (X, index of each row).

    Row for target i holds s_{i-before..i-1} and s_{i+1..i+after}; only i with all of them exist.
    """
    s = np.asarray(s, dtype=np.float64)
    idx = np.arange(before, s.size - after)
    cols = [s[idx - k] for k in range(before, 0, -1)] + [s[idx + k] for k in range(1, after + 1)]
    return (np.stack(cols, axis=1) if cols else np.empty((idx.size, 0))), idx


def fit_linear_spacing(s_train: np.ndarray, before: int, after: int = 0) -> np.ndarray:
    """Least-squares coefficients (intercept first) of s_i on its neighbouring spacings."""
    x, idx = lagged_spacings(s_train, before, after)
    a = np.column_stack([np.ones(idx.size), x])
    coef, *_ = np.linalg.lstsq(a, s_train[idx], rcond=None)
    return coef


def spacing_baselines(s_train: np.ndarray, s_test: np.ndarray, receptive: int | None = None) -> dict[str, float]:
    """RMSE on ``s_test`` of: constant 1, train mean, linear on previous 10, linear on 5 each side,
    and (if ``receptive``) linear on as many previous spacings as a model's receptive field reaches.

    Coefficients are fitted on ``s_train`` only; ``s_test`` must be one contiguous block.
    """
    out = {
        "const1": float(np.sqrt(np.mean((s_test - 1.0) ** 2))),
        "train_mean": float(np.sqrt(np.mean((s_test - s_train.mean()) ** 2))),
    }
    fits = [("linear_prev10", 10, 0), ("linear_5each", 5, 5)]
    if receptive:
        fits.append((f"linear_prev{receptive}", receptive, 0))
    for label, before, after in fits:
        if s_test.size <= before + after or s_train.size <= 2 * (before + after + 1):
            continue  # too short a block for this regression: reported as absent, not NaN
        coef = fit_linear_spacing(s_train, before, after)
        x, idx = lagged_spacings(s_test, before, after)
        pred = coef[0] + x @ coef[1:]
        out[label] = float(np.sqrt(np.mean((s_test[idx] - pred) ** 2)))
    return out
