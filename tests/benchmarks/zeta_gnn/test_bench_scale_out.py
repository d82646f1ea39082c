"""zeta-gnn:train on two GPUs against one (issue 19): strong scaling on ``scale``, time to target on the default config.

Each run is a real ``labkit run`` in fresh processes; the figures are the training loop's own clock
(``train_loop_s`` and ``time_s`` per epoch in ``history.csv``: after process, CUDA and NCCL start-up,
without the final checkpoint). Ratios go to ``extra_info``; the targets are asserted. Needs 2 GPUs.
Where the time goes per phase: ``scale_out_phases.py`` beside this file.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.gpu
ENV = dict(os.environ, LABKIT_PROGRESS="0", OMP_NUM_THREADS="4")


@pytest.fixture(autouse=True)
def _two_gpus() -> None:
    if not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        pytest.skip("needs 2 CUDA GPUs")


def _run(out: Path, *args: str, gpus: str | None = None) -> tuple[dict, list[dict[str, float]]]:
    env = ENV if gpus is None else dict(ENV, CUDA_VISIBLE_DEVICES=gpus)
    proc = subprocess.run([sys.executable, "-m", "labkit.core.cli", "run", "zeta-gnn:train", "--device", "cuda",
                           "--out", str(out), *args], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())["results"]
    with open(out / "history.csv") as f:
        return results, [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]


def test_scale_preset_two_gpus_against_one_accumulating(benchmark, tmp_path: Path) -> None:
    one, h1 = _run(tmp_path / "one", "--preset", "scale", "--set", "accumulate=2", gpus="0")
    two, h2 = benchmark.pedantic(_run, args=(tmp_path / "two", "--preset", "scale", "--nproc", "2"), rounds=1,
                                 iterations=1)
    for a, b in zip(h1, h2, strict=True):  # the same algorithm: the same trajectory
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
    speedup = one["train_loop_s"] / two["train_loop_s"]
    steady = (h1[-1]["time_s"] - h1[0]["time_s"]) / (h2[-1]["time_s"] - h2[0]["time_s"])
    benchmark.extra_info.update(train_loop_s_1gpu=one["train_loop_s"], train_loop_s_2gpu=two["train_loop_s"],
                                speedup=speedup, speedup_after_first_epoch=steady)
    assert speedup >= 1.6


def test_time_to_target_on_the_default_config(benchmark, tmp_path: Path) -> None:
    # the default full batch is one batch per epoch (nothing to split): Cluster-GCN batches from METIS
    args = ("--set", "batching=metis")
    ones = [_run(tmp_path / f"one{s}", "--seed", str(s), *args, gpus="0") for s in range(4)]
    twos = benchmark.pedantic(lambda: [_run(tmp_path / f"two{s}", "--seed", str(s), "--nproc", "2", *args)
                                       for s in range(3)], rounds=1, iterations=1)
    target = max(min(r["val_loss"] for r in h) for _, h in ones)  # every one-GPU seed reaches it

    def reach(history: list[dict[str, float]]) -> float:
        return next(r["time_s"] for r in history if r["val_loss"] <= target)

    t1, t2 = statistics.median(reach(h) for _, h in ones), statistics.median(reach(h) for _, h in twos)
    rmse = [r["metrics"]["test_model_rmse"] for r, _ in ones]
    benchmark.extra_info.update(target_val_loss=target, time_to_target_1gpu=t1, time_to_target_2gpu=t2,
                                speedup=t1 / t2, test_rmse_1gpu=rmse,
                                test_rmse_2gpu=[r["metrics"]["test_model_rmse"] for r, _ in twos])
    assert all(r["metrics"]["test_model_rmse"] <= max(rmse) for r, _ in twos)  # no worse than the one-GPU spread
    assert t1 / t2 >= 1.4
