"""Evaluation of FID surrogates on the fixed task: accuracy against both baselines, conformal bands, speed.

Used by the flagship ``nmr-fno:surrogate`` (``labkit run nmr-fno:surrogate``) and by ``nmr-fno:studies``.
The accuracy measure is the per-system relative L2 error of the 1 Hz-broadened Mx + i My
(:func:`labkit.nmr_fno.task.relative_l2`); the baselines are the first-order (weak-coupling) formula
and the mean broadened trajectory of the training set at that N.

Example (tiny, CPU):
    >>> from labkit.nmr_fno.fid_training import make_fid_data
    >>> train, test = make_fid_data({4: 6}, seed=0), make_fid_data({4: 4}, seed=2)
    >>> rows = baseline_rows(train, test, [4])
    >>> sorted(rows[0])
    ['first_order_median', 'first_order_p90', 'mean_median', 'mean_p90', 'n_spins', 'n_test']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .fid_surrogate import FIDSurrogate
from .fid_training import FIDData
from .task import TASK_LINEWIDTH_HZ, TASK_TIMES, broaden, first_order_fid, relative_l2

__all__ = ["add_accuracy", "baseline_rows", "conformal_bands", "exact_broadened", "predict_broadened", "timing_row"]


def conformal_bands(pred_cal: np.ndarray, exact_cal: np.ndarray, pred_test: np.ndarray, exact_test: np.ndarray,
                    times: np.ndarray, level: float = 0.95, linewidth_hz: float = TASK_LINEWIDTH_HZ) -> dict[str, float]:
    """Split-conformal pointwise bands pred +- q * exp(-pi * lw * t) on (B, 2, T) broadened (Mx, My).

    The score of a point is |pred - exact| / exp(-pi * lw * t); q is its ceil((n + 1) level) / n
    empirical quantile over the n calibration points. Returns q, the test coverage and the band
    half-width relative to the RMS of the test signal.

    >>> rng = np.random.default_rng(0); t = np.linspace(0, 1, 50)
    >>> e = rng.normal(size=(400, 2, 50)) * np.exp(-np.pi * t)
    >>> r = conformal_bands(e[:200], 0 * e[:200], e[200:], 0 * e[200:] + 1e-3, t)
    >>> 0.93 < r["coverage"] < 0.97
    True
    """
    env = np.exp(-np.pi * linewidth_hz * times)
    score = (np.abs(pred_cal - exact_cal) / env).ravel()
    n = score.size
    q = float(np.quantile(score, min(1.0, np.ceil((n + 1) * level) / n), method="higher"))
    covered = np.abs(pred_test - exact_test) <= q * env
    half = q * np.sqrt(np.mean(env**2))
    rms = float(np.sqrt(np.mean(exact_test**2)))
    return {"q": q, "coverage": float(covered.mean()), "half_width_rms": float(half), "signal_rms": rms,
            "half_width_over_signal_rms": float(half / rms), "n_calibration_points": n}


def exact_broadened(data: FIDData, n: int) -> np.ndarray:
    """The exact broadened (Mx, My) of the N-spin systems of ``data``, (B, 2, T)."""
    return np.stack([broaden(data.mx[n], TASK_TIMES), broaden(data.my[n], TASK_TIMES)], axis=1)


def predict_broadened(sur: FIDSurrogate, data: FIDData, n: int) -> np.ndarray:
    """The surrogate's broadened (Mx, My) of the N-spin systems of ``data``, (B, 2, T)."""
    p = sur.predict(data.systems(n), check_range=False)
    return np.stack([p["Mx"], p["My"]], axis=1)


def _rel(pred: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return relative_l2(pred[:, 0], pred[:, 1], exact[:, 0], exact[:, 1])


def _stats(prefix: str, err: np.ndarray) -> dict[str, float]:
    return {f"{prefix}_median": float(np.median(err)), f"{prefix}_p90": float(np.quantile(err, 0.9))}


def baseline_rows(train: FIDData, test: FIDData, eval_n: Sequence[int]) -> list[dict[str, Any]]:
    """Per N: relative-L2 median and p90 of the first-order formula and of the training set's mean trajectory
    (at that N; over every training N when N was not trained)."""
    rows = []
    for n in eval_n:
        exact = exact_broadened(test, n)
        fo = broaden(first_order_fid(test.systems(n)), TASK_TIMES)
        trn = exact_broadened(train, n) if n in train.vectors else np.concatenate([exact_broadened(train, k) for k in train.vectors])
        mean = np.broadcast_to(trn.mean(axis=0), exact.shape)
        rows.append({"n_spins": n, "n_test": int(exact.shape[0]), **_stats("first_order", _rel(np.stack([fo.real, fo.imag], 1), exact)),
                     **_stats("mean", _rel(mean, exact))})
    return rows


def add_accuracy(rows: list[dict[str, Any]], kind: str, sur: FIDSurrogate, test: FIDData) -> None:
    """Add ``<kind>_median``, ``<kind>_p90`` and ``<kind>_ratio_to_best_baseline`` to each row of :func:`baseline_rows`."""
    for row in rows:
        n = row["n_spins"]
        row.update(_stats(kind, _rel(predict_broadened(sur, test, n), exact_broadened(test, n))))
        row[f"{kind}_ratio_to_best_baseline"] = row[f"{kind}_median"] / min(row["first_order_median"], row["mean_median"])


def timing_row(sur: FIDSurrogate, device: str, repeats: int, n: int = 10) -> dict[str, Any]:
    """Batch 1, one CPU thread: surrogate vs exact block method (Mx, My only) at N = ``n``; batch 64 and 256 on CUDA."""

    from labkit.core import measure

    from .batch import simulate_batch
    from .simulate import simulate
    from .task import task_systems

    systems = task_systems(n, 256, seed=12345)
    cpu = FIDSurrogate.from_state_dict(sur.state_dict())
    row: dict[str, Any] = {"n_spins": n}
    ex = [measure(simulate, s, TASK_TIMES, "exact", ("Mx", "My"), warmup=1, repeats=repeats, threads=1).median for s in systems[:3]]
    sb = [measure(cpu.predict, [s], check_range=False, warmup=2, repeats=4 * repeats, threads=1).median for s in systems[:3]]
    row.update(exact_cpu1_s=float(np.median(ex)), surrogate_cpu1_b1_s=float(np.median(sb)))
    row["speedup_cpu1_b1"] = row["exact_cpu1_s"] / row["surrogate_cpu1_b1_s"]
    if device.startswith("cuda"):
        gpu = FIDSurrogate.from_state_dict(sur.state_dict())
        gpu.model.to(device)
        for b in (64, 256):
            t_ex = measure(simulate_batch, systems[:b], TASK_TIMES, device=device, observables=("Mx", "My"), warmup=1, repeats=repeats, sync="cuda").median
            t_su = measure(gpu.predict, systems[:b], check_range=False, warmup=2, repeats=repeats, sync="cuda").median
            row.update({f"exact_gpu_b{b}_s_per_traj": t_ex / b, f"surrogate_gpu_b{b}_s_per_traj": t_su / b, f"speedup_gpu_b{b}": t_ex / t_su})
    return row
