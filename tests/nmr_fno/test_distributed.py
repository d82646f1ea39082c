"""nmr-fno:surrogate on several processes (gloo, CPU): the trajectory of one process accumulating, data identical.

Each multi-process run is a real ``labkit run --nproc K`` in fresh processes; the one-process
references run in this process. 5 batches per epoch (3 of N = 3, 2 of N = 4): uneven for 2 and 3 ranks.
The data are simulated in chunks of 4 systems (6 chunks), so every world size splits them differently.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch.distributed")

SETTINGS = {"n_spins": "3,4", "train_counts": "10,7", "eval_n": "4", "calib_per_n": "4", "test_per_n": "3", "kinds": "lines,fno",
            "epochs": "2", "batch_size": "4", "lines_hidden": "8", "lines_head_width": "8", "lines_slots": "2", "fno_width": "4",
            "fno_layers": "1", "fno_modes": "8", "timing": "false", "torch_threads": "1", "sim_chunk": "4", "lr": "0.01"}
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", LABKIT_PROGRESS="0")


def _one_process(out: Path, accumulate: int) -> Path:
    from labkit.core import PluginRegistry
    from labkit.core.runner import run_experiment

    run_experiment(PluginRegistry.discover(), "nmr-fno:surrogate", out_dir=out, device="cpu", echo=False,
                   overrides=[*(f"{k}={v}" for k, v in SETTINGS.items()), f"accumulate={accumulate}"])
    return out


def _nproc(out: Path, k: int) -> Path:
    sets = [a for kv in SETTINGS.items() for a in ("--set", "=".join(kv))]
    proc = subprocess.run([sys.executable, "-m", "labkit.core.cli", "run", "nmr-fno:surrogate", "--out", str(out), "--device", "cpu",
                           "--nproc", str(k), *sets], env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def _results(out: Path) -> dict:
    saved = json.loads((out / "results.json").read_text())
    return {**saved["results"], "world_size": saved["world_size"]}


def _same_run(a: Path, b: Path) -> None:
    with open(a / "history.csv") as fa, open(b / "history.csv") as fb:
        ha, hb = list(csv.DictReader(fa)), list(csv.DictReader(fb))
    assert len(ha) == len(hb) == 2
    for ra, rb in zip(ha, hb, strict=True):
        for key in ("train_loss", "train_loss_fno"):  # the loss over every training system: no batch dropped
            assert float(rb[key]) == pytest.approx(float(ra[key]), rel=1e-5)
    ra, rb = _results(a), _results(b)
    assert rb["data"]["sha256"] == ra["data"]["sha256"]  # simulated data identical for any world size
    for x, y in zip(ra["accuracy"], rb["accuracy"], strict=True):
        assert y["lines_median"] == pytest.approx(x["lines_median"], rel=1e-4)


def test_two_processes_follow_one_accumulating_and_three_drop_no_batch(tmp_path: Path) -> None:
    two = _nproc(tmp_path / "nproc2", 2)
    _same_run(_one_process(tmp_path / "acc2", 2), two)
    assert _results(two)["world_size"] == 2 and _results(tmp_path / "acc2")["world_size"] == 1
    three = _nproc(tmp_path / "nproc3", 3)
    _same_run(_one_process(tmp_path / "acc3", 3), three)
    # accumulating changes the trajectory (fewer, larger steps): the comparison above can fail
    one = _one_process(tmp_path / "acc1", 1)
    assert _results(one)["data"]["sha256"] == _results(three)["data"]["sha256"]
    with open(one / "history.csv") as f1, open(three / "history.csv") as f3:
        assert float(list(csv.DictReader(f1))[-1]["train_loss"]) != pytest.approx(float(list(csv.DictReader(f3))[-1]["train_loss"]), rel=1e-5)


def test_sharded_simulation_gathers_every_chunk() -> None:
    """Each rank simulates chunks r, r + K, ...; after the gather every rank holds the one-process arrays."""
    import numpy as np

    from labkit.nmr_fno import fid_training

    gathered = {}

    class Ctx:
        rank, world_size = 1, 3

        def sum_arrays(self, arrays):
            arrays = list(arrays)
            gathered.update(enumerate(arrays))
            return arrays
    mine = fid_training.make_fid_data({3: 9, 4: 5}, seed=0, chunk=2, ctx=Ctx())
    whole = fid_training.make_fid_data({3: 9, 4: 5}, seed=0, chunk=2)
    # chunks in order: N=3 rows 0-1, 2-3, 4-5, 6-7, 8; N=4 rows 0-1, 2-3, 4; rank 1 of 3 takes chunks 1, 4, 7
    filled = {3: [2, 3, 8], 4: [4]}
    for n, rows in filled.items():
        assert np.array_equal(mine.mx[n][rows], whole.mx[n][rows])
        others = np.setdiff1d(np.arange(len(whole.mx[n])), rows)
        assert not np.any(mine.mx[n][others]) and not np.any(mine.i1z[n][others])
    assert len(gathered) == 2 and np.array_equal(mine.vectors[3], whole.vectors[3])


def test_studies_on_two_processes_match_one_accumulating(tmp_path: Path) -> None:
    """nmr-fno:studies --nproc 2: the training here follows one process with accumulate=2, and the sharded
    exact simulation of every evaluation set gives the one-process numbers (rank 0 alone writes)."""
    from labkit.core import PluginRegistry
    from labkit.core.runner import run_experiment

    tiny = {"n_spins": "3,4", "train_counts": "10,7", "epochs": "2", "batch_size": "4", "eval_n": "4", "test_per_n": "7",
            "calib_per_n": "5", "timing_repeats": "1", "inverse_n": "3", "inverse_trials": "1", "inverse_starts": "1",
            "snrs": "50", "conservation_n": "3", "conservation_points": "6", "sim_chunk": "3"}
    sets = [a for kv in tiny.items() for a in ("--set", "=".join(kv))]
    proc = subprocess.run([sys.executable, "-m", "labkit.core.cli", "run", "nmr-fno:studies", "--preset", "quick", "--out",
                           str(tmp_path / "two"), "--device", "cpu", "--nproc", "2", *sets], env=ENV, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run_experiment(PluginRegistry.discover(), "nmr-fno:studies", preset="quick", out_dir=tmp_path / "one", device="cpu", echo=False,
                   overrides=[*(f"{k}={v}" for k, v in tiny.items()), "accumulate=2"])
    one, two = _results(tmp_path / "one"), _results(tmp_path / "two")
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert two["probe_mx"] == pytest.approx(one["probe_mx"], rel=1e-5, abs=1e-7)
    for key in ("accuracy", "conformal", "ood_j"):
        for x, y in zip(one[key], two[key], strict=True):
            for field, value in x.items():
                assert y[field] == pytest.approx(value, rel=1e-4, abs=1e-7), (key, field)
