"""Time grids, observable names and aliasing checks shared by every simulator (memory: see methods.py).

The default grid is N_TIMES = 300 points with DEFAULT_DT = 1 ms (t = 0, 1, ..., 299 ms): the complex
FID Mx + i My is then sampled without aliasing for every line inside +-500 Hz (spectral width 1 kHz),
which covers random_system's default offsets (+-100 Hz) plus coupling splittings with a wide margin;
the digital resolution is 1/(300 ms) = 3.3 Hz. Example:

    >>> default_times()[:3].tolist()
    [0.0, 0.001, 0.002]
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "DEFAULT_DT",
    "N_TIMES",
    "OBSERVABLES",
    "AliasingWarning",
    "MemoryLimitError",
    "available_memory_bytes",
    "check_observables",
    "check_times",
    "default_times",
    "nyquist_hz",
    "phasor_powers",
    "phasors",
    "uniform_step",
]

N_TIMES = 300
DEFAULT_DT = 1.0e-3
OBSERVABLES = ("Mx", "My", "I1z")


class AliasingWarning(UserWarning):
    """A noticeable part of the FID's intensity lies outside the grid's Nyquist band."""


class MemoryLimitError(MemoryError, ValueError):
    """The requested simulation would need more memory than is available (message has the estimate)."""


def default_times(n_times: int = N_TIMES, dt: float = DEFAULT_DT) -> np.ndarray:
    """Uniform grid t_m = m dt, m = 0..n_times-1 (seconds)."""
    if n_times < 1:
        raise ValueError(f"n_times: must be >= 1, got {n_times}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt: must be a positive finite time step in seconds, got {dt}")
    return np.arange(n_times, dtype=np.float64) * dt


def check_times(times: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """Validate a time grid (1-D, finite, >= 0, non-decreasing); None gives the default grid."""
    if times is None:
        return default_times()
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"times: expected a non-empty 1-D array of times in seconds, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("times: all times must be finite and >= 0 seconds")
    if np.any(np.diff(t) < 0):
        raise ValueError("times: must be non-decreasing")
    return t


def check_observables(observables: Iterable[str] | None) -> tuple[str, ...]:
    """Validate observable names; None means all of OBSERVABLES."""
    if observables is None:
        return OBSERVABLES
    obs = tuple(observables)
    bad = [o for o in obs if o not in OBSERVABLES]
    if bad or not obs:
        raise ValueError(f"observables: allowed names are {OBSERVABLES}, got {obs}")
    return obs


def nyquist_hz(times: np.ndarray) -> float | None:
    """Half the spectral width 1/(2 dt) of a uniform grid, or None when the grid is not uniform."""
    if times.size < 2:
        return None
    d = np.diff(times)
    if not np.allclose(d, d[0], rtol=1e-9, atol=0.0) or d[0] <= 0:
        return None
    return 0.5 / float(d[0])


def uniform_step(times: np.ndarray) -> float | None:
    """dt when the grid is t_m = m dt exactly (t_0 = 0, every point within 1e-12 t_max), else None.

    >>> uniform_step(default_times(4)), uniform_step(np.array([0.0, 0.1, 0.3]))
    (0.001, None)
    """
    t = np.asarray(times, dtype=np.float64)
    if t.size < 2 or t[0] != 0.0 or not t[1] > 0:
        return None
    dt = float(t[1])
    ok = np.abs(t - np.arange(t.size) * dt).max() <= 1e-12 * max(float(t[-1]), dt)
    return dt if ok else None


def phasor_powers(z: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(count, M) table z^0 .. z^(count - 1) of a 1-D complex array z, and z^P with P the power of two >= count.

    Built by doubling: every entry is a product of at most log2(count) + 1 factors (relative error a
    few ulp, against ~|phase| ulp for a direct exp of a large phase).

    >>> table, top = phasor_powers(np.array([1j]), 3)
    >>> table[:, 0].round(12).tolist(), float(top[0].real)
    ([(1+0j), 1j, (-1+0j)], 1.0)
    """
    out = np.empty((count, z.size), dtype=np.complex128)
    out[0] = 1.0
    p, filled = np.asarray(z, dtype=np.complex128), 1
    while filled < count:
        m = min(filled, count - filled)
        np.multiply(out[:m], p, out=out[filled:filled + m])
        p, filled = p * p, filled + m  # p = z^(2^steps), 2^steps >= filled
    return out, p


def phasors(freq_hz: np.ndarray, dt: float, n_times: int, fine: int = 32) -> np.ndarray:
    """(n_times, M) table e^{2 pi i f m dt} for frequencies f (Hz) on the uniform grid t_m = m dt.

    With m = fine a + c: e^{2 pi i f c dt} e^{2 pi i f fine a dt}, two doubling tables of fine and
    n_times / fine rows from one exponential per frequency, instead of n_times sines and cosines.

    >>> z = phasors(np.array([0.25, 1.0]), 1.0, 3)
    >>> np.abs(z - np.exp(2j * np.pi * np.outer([0.0, 1.0, 2.0], [0.25, 1.0]))).max() < 1e-14
    np.True_
    """
    f = np.asarray(freq_hz, dtype=np.float64).reshape(-1)
    coarse = -(-n_times // fine)
    zf, step = phasor_powers(np.exp((2j * np.pi * dt) * f), fine)
    zc, _ = phasor_powers(step, coarse)
    return (zc[:, None, :] * zf[None, :, :]).reshape(coarse * fine, f.size)[:n_times]


def warn_if_aliased(fraction: float, nyq: float, threshold: float = 1e-6) -> None:
    """Warn when more than `threshold` of the FID intensity lies beyond +-nyq Hz."""
    if fraction > threshold:
        warnings.warn(
            f"{fraction:.2%} of the FID intensity lies outside the grid's band +-{nyq:g} Hz: the sampled "
            "signal is aliased; use a smaller time step (times=...)",
            AliasingWarning,
            stacklevel=4,
        )


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (falls back to free physical pages)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
