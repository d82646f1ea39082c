"""The FID surrogate study in one run: data, both surrogates, accuracy vs baselines, conformal bands, speed.

    python -m labkit.nmr_fno.fid_study --out runs/fid --device cuda

Writes to ``--out``: ``fid_surrogate.pt`` (the line model, the one shipped), ``fid_fno.pt``,
``results.json`` (every table; rewritten after each stage) and per-model training checkpoints, so
a killed run resumes where it stopped (data are regenerated from their seeds: exact and cheap).
Held-out sets use other seed streams than training: calibration seed + 1, test seed + 2.

Example (tiny, CPU):
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     res = run_study(d, train={4: 8, 6: 8}, eval_n=[6], calib=8, test=8, epochs=1, kinds=["lines"], timing=False,
    ...                     sizes={"lines": {"hidden": 8, "head_width": 8, "slots": 2}}, log=lambda *a: None)
    >>> sorted(res["accuracy"][0])[:4]
    ['first_order_median', 'first_order_p90', 'lines_median', 'lines_p90']
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .fid_surrogate import FIDSpec, FIDSurrogate
from .fid_training import FIDData, FIDTrainSettings, make_fid_data, train_fid
from .task import TASK_LINEWIDTH_HZ, TASK_TIMES, broaden, first_order_fid, relative_l2

__all__ = ["conformal_bands", "main", "run_study"]

DEFAULT_TRAIN = {4: 6000, 5: 6000, 6: 8000, 7: 6000, 8: 6000, 9: 3000, 10: 3000}


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


def _exact_broadened(data: FIDData, n: int) -> np.ndarray:
    return np.stack([broaden(data.mx[n], TASK_TIMES), broaden(data.my[n], TASK_TIMES)], axis=1)


def _rel(pred: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return relative_l2(pred[:, 0], pred[:, 1], exact[:, 0], exact[:, 1])


def _stats(prefix: str, err: np.ndarray) -> dict[str, float]:
    return {f"{prefix}_median": float(np.median(err)), f"{prefix}_p90": float(np.quantile(err, 0.9))}


def _predict(sur: FIDSurrogate, data: FIDData, n: int) -> np.ndarray:
    p = sur.predict(data.systems(n), check_range=False)
    return np.stack([p["Mx"], p["My"]], axis=1)


def _timing(sur: FIDSurrogate, device: str, repeats: int) -> dict[str, Any]:
    """Batch 1, one CPU thread: surrogate vs exact block method (Mx, My only), N = 10; GPU batch 256 when on CUDA."""
    import torch

    from labkit.core import measure

    from .batch import simulate_batch
    from .simulate import simulate
    from .task import task_systems

    systems = task_systems(10, 256, seed=12345)
    cpu = FIDSurrogate.from_state_dict(sur.state_dict())
    row: dict[str, Any] = {"n_spins": 10}
    ex = [measure(simulate, s, TASK_TIMES, "exact", ("Mx", "My"), warmup=1, repeats=repeats, threads=1).median for s in systems[:3]]
    sb = [measure(cpu.predict, [s], check_range=False, warmup=2, repeats=4 * repeats, threads=1).median for s in systems[:3]]
    row.update(exact_cpu1_s=float(np.median(ex)), surrogate_cpu1_b1_s=float(np.median(sb)))
    row["speedup_cpu1_b1"] = row["exact_cpu1_s"] / row["surrogate_cpu1_b1_s"]
    if device.startswith("cuda"):
        gpu = FIDSurrogate.from_state_dict(sur.state_dict())
        gpu.model.to(device)
        for b in (64, 256):
            t_ex = measure(simulate_batch, systems[:b], TASK_TIMES, device=device, observables=("Mx", "My"), warmup=1, repeats=repeats, sync="cuda").median
            t_ex32 = measure(simulate_batch, systems[:b], TASK_TIMES, device=device, observables=("Mx", "My"), dtype=torch.float32,
                             warmup=1, repeats=repeats, sync="cuda").median
            t_su = measure(gpu.predict, systems[:b], check_range=False, warmup=2, repeats=repeats, sync="cuda").median
            row.update({f"exact_gpu_b{b}_s_per_traj": t_ex / b, f"exact_gpu_f32_b{b}_s_per_traj": t_ex32 / b,
                        f"surrogate_gpu_b{b}_s_per_traj": t_su / b, f"speedup_gpu_b{b}": t_ex / t_su})
    return row


def run_study(
    out: str | Path,
    train: dict[int, int] | None = None,
    eval_n: Sequence[int] = (6, 8, 10),
    calib: int = 500,
    test: int = 200,
    epochs: int = 30,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    device: str = "cpu",
    kinds: Sequence[str] = ("lines", "fno"),
    timing: bool = True,
    timing_repeats: int = 5,
    sizes: dict[str, dict] | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Run the whole study into ``out``; returns (and writes) the results dict."""
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train = dict(train or DEFAULT_TRAIN)
    res: dict[str, Any] = {"command": {"train": train, "eval_n": list(eval_n), "calib": calib, "test": test, "epochs": epochs,
                                       "batch_size": batch_size, "lr": lr, "seed": seed, "device": device, "kinds": list(kinds)},
                           "linewidth_hz": TASK_LINEWIDTH_HZ}

    def write() -> None:
        (out / "results.json").write_text(json.dumps(res, indent=1, default=float))

    t0 = time.perf_counter()
    tr = make_fid_data(train, seed, device)
    cal = make_fid_data({n: calib for n in eval_n}, seed + 1, device)
    te = make_fid_data({n: test for n in eval_n}, seed + 2, device)
    res["data"] = {"seconds": time.perf_counter() - t0, "train_systems": tr.count(),
                   "exact_s_per_trajectory_train": tr.seconds_per_trajectory}
    log(f"data: {tr.count()} training systems in {res['data']['seconds']:.1f} s ({device})")
    rows: list[dict[str, Any]] = []
    for n in eval_n:
        exact = _exact_broadened(te, n)
        fo = broaden(first_order_fid(te.systems(n)), TASK_TIMES)
        trn = _exact_broadened(tr, n) if n in tr.vectors else np.concatenate([_exact_broadened(tr, k) for k in tr.vectors])
        mean = np.broadcast_to(trn.mean(axis=0), exact.shape)
        rows.append({"n_spins": n, "n_test": int(exact.shape[0]), **_stats("first_order", _rel(np.stack([fo.real, fo.imag], 1), exact)),
                     **_stats("mean", _rel(mean, exact))})
    res["accuracy"] = rows
    res["conformal"], res["training"] = [], {}
    write()
    spec = FIDSpec(n_spins=sorted(train))
    for kind in kinds:
        torch.manual_seed(seed)
        sur = FIDSurrogate.build(kind, spec, **(sizes or {}).get(kind, {}))
        sur.model.to(device)
        t1 = time.perf_counter()
        hist = train_fid(sur, tr, FIDTrainSettings(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed),
                         checkpoint=out / f"train-{kind}.ckpt", log=log)
        res["training"][kind] = {"seconds": float(time.perf_counter() - t1), "final_loss": hist[-1]["loss"], "epochs": len(hist),
                                 "parameters": sum(p.numel() for p in sur.model.parameters())}
        sur.save(out / ("fid_surrogate.pt" if kind == "lines" else f"fid_{kind}.pt"))
        for row in rows:
            n = row["n_spins"]
            row.update(_stats(kind, _rel(_predict(sur, te, n), _exact_broadened(te, n))))
            best = min(row["first_order_median"], row["mean_median"])
            row[f"{kind}_ratio_to_best_baseline"] = row[f"{kind}_median"] / best
        if kind == "lines":
            for n in eval_n:
                c = conformal_bands(_predict(sur, cal, n), _exact_broadened(cal, n), _predict(sur, te, n), _exact_broadened(te, n), TASK_TIMES)
                res["conformal"].append({"n_spins": n, "calibration_systems": calib, "test_systems": test, **c})
            if timing:
                res["timing"] = _timing(sur, device, timing_repeats)
        log(json.dumps(rows, default=float))
        write()
    return res


def _counts(text: str) -> dict[int, int]:
    try:
        return {int(a): int(b) for a, b in (p.split(":") for p in text.split(","))}
    except ValueError:
        raise SystemExit(f"--train: expected N:count pairs like 6:1000,8:500, got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m labkit.nmr_fno.fid_study --out DIR [--device cuda] ...``."""
    ap = argparse.ArgumentParser(prog="python -m labkit.nmr_fno.fid_study", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--train", default=",".join(f"{k}:{v}" for k, v in DEFAULT_TRAIN.items()))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--calib", type=int, default=500)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="lines,fno")
    ap.add_argument("--no-timing", action="store_true")
    a = ap.parse_args(argv)
    run_study(a.out, _counts(a.train), calib=a.calib, test=a.test, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
              seed=a.seed, device=a.device, kinds=a.kinds.split(","), timing=not a.no_timing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
