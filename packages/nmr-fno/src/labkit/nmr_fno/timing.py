"""Statistical timing of the simulators per spin count (core's `measure`: pinned threads, warm-ups, median/IQR).

Points whose run time, extrapolated from the last two measured N of the same method, would
exceed `skip_above_s` are not run; they are reported with the extrapolation and `measured=False`.

Example:
    >>> rows = [time_point(4, "exact", repeats=2, warmup=1)]
    >>> rows[0]["method"], rows[0]["measured"]
    ('exact', True)
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .grid import N_TIMES, default_times
from .methods import methods_with
from .simulate import simulate
from .systems import random_system

__all__ = ["TIMED_METHODS", "extrapolate", "time_methods", "time_point"]

TIMED_METHODS = methods_with("timed")


def extrapolate(history: list[tuple[int, float]], n: int) -> float | None:
    """Predict the time at N = n from the last two (N, seconds) points by a log-linear fit; None if < 2."""
    if len(history) < 2:
        return None
    (n0, t0), (n1, t1) = history[-2], history[-1]
    rate = (np.log(t1) - np.log(t0)) / (n1 - n0)
    return float(np.exp(np.log(t1) + max(rate, 0.0) * (n - n1)))


def time_point(
    n_spins: int,
    method: str,
    *,
    repeats: int = 5,
    warmup: int = 1,
    threads: int | None = 1,
    n_times: int = N_TIMES,
    seed: int = 0,
    topology: str = "random",
    observables: tuple[str, ...] = ("Mx", "My"),
    device: str = "cpu",
) -> dict[str, Any]:
    """Seconds per trajectory (FID, n_times points) for one (N, method): median, IQR and the raw samples."""
    from labkit.core import measure

    system = random_system(n_spins, topology, seed=seed)
    times = default_times(n_times)
    opts: dict[str, Any] = {"device": device} if method == "torch" else {}
    sync = "cuda" if (method == "torch" and device == "cuda") else None
    res = measure(simulate, system, times, method, observables, warmup=warmup, repeats=repeats, threads=threads, sync=sync, **opts)
    return {
        "n_spins": n_spins,
        "method": method,
        "median_s": res.median,
        "q1_s": res.q1,
        "q3_s": res.q3,
        "iqr_s": res.iqr,
        "repeats": repeats,
        "threads": threads,
        "device": device,
        "measured": True,
    }


def time_methods(
    n_values: list[int],
    methods: list[str],
    *,
    skip_above_s: float = 30.0,
    **kw: Any,
) -> list[dict[str, Any]]:
    """Time every (N, method) in order; later N of a method are skipped once predicted above skip_above_s."""
    rows: list[dict[str, Any]] = []
    history: dict[str, list[tuple[int, float]]] = {m: [] for m in methods}
    for n in n_values:
        for m in methods:
            rows.append(time_or_skip(n, m, history[m], skip_above_s, **kw))
    return rows


def time_or_skip(n: int, method: str, history: list[tuple[int, float]], skip_above_s: float, **kw: Any) -> dict[str, Any]:
    """One point: measured (and appended to `history`) or skipped with its extrapolated time."""
    pred = extrapolate(history, n)
    repeats = int(kw.get("repeats", 5)) + int(kw.get("warmup", 1))
    if pred is not None and pred * repeats > skip_above_s:
        return {"n_spins": n, "method": method, "median_s": pred, "q1_s": None, "q3_s": None, "iqr_s": None,
                "repeats": 0, "threads": kw.get("threads", 1), "device": kw.get("device", "cpu"), "measured": False}
    t0 = time.perf_counter()
    row = time_point(n, method, **kw)
    row["wall_s"] = time.perf_counter() - t0
    history.append((n, row["median_s"]))
    return row
