"""`nmr-fno:studies`: one trained surrogate reused read-only by a second run; the artifact reloads in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

TINY = {"n_spins": [3, 4], "train_counts": [24, 24], "epochs": 1, "batch_size": 16, "eval_n": [4], "test_per_n": 6, "calib_per_n": 6,
        "timing_repeats": 1, "inverse_n": [3], "inverse_trials": 1, "inverse_starts": 1, "snrs": [50.0], "conservation_n": [3],
        "conservation_points": 6}


def test_two_runs_share_one_surrogate_without_retraining(labkit_run, tmp_path):
    first = labkit_run("nmr-fno:studies", preset="quick", overrides=TINY, out_dir=tmp_path / "a")
    assert first["surrogate"]["source"] == "trained here" and (tmp_path / "a" / "artifacts" / "surrogate" / "artifact.json").exists()
    second = labkit_run("nmr-fno:studies", preset="quick", overrides={**TINY, "surrogate_run": str(tmp_path / "a")}, out_dir=tmp_path / "b")
    assert second["surrogate"]["source"] == "run" and second["surrogate"]["sha256"] == first["surrogate"]["sha256"]
    log = (tmp_path / "b" / "log.txt").read_text()
    assert f"using the surrogate of run {(tmp_path / 'a').resolve()}" in log and first["surrogate"]["sha256"] in log
    assert "training the surrogate" not in log and not (tmp_path / "b" / "artifacts").exists()
    assert second["probe_mx"] == first["probe_mx"]
    for row in second["scaling"]:  # every speed-up comes with the error at that N
        assert row["speedup_b1"] > 0 and row["surrogate_median_rel_l2"] > 0
    cons = {c["method"]: c for c in second["conservation"]}
    assert max(c["purity"] for m, c in cons.items() if m != "euler") < 1e-9 < cons["euler"]["purity"]
    # a fresh process rebuilds the artifact through the registered factory and predicts what the run reported
    code = ("import json, sys; from labkit.core import load_run; from labkit.nmr_fno import Surrogate, task_system\n"
            f"sur = Surrogate.load(load_run({str(tmp_path / 'a')!r}))\n"
            "print(json.dumps(sur.predict([task_system(6, 'ring', seed=123)], check_range=False)['Mx'][0, :16].tolist()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert max(abs(x - y) for x, y in zip(json.loads(out), first["probe_mx"], strict=True)) <= 1e-12


def test_a_folder_without_the_artifact_is_refused(labkit_run, tmp_path):
    from labkit.core import LabkitError

    (tmp_path / "empty").mkdir()
    with pytest.raises(LabkitError, match="surrogate_run"):
        labkit_run("nmr-fno:studies", preset="quick", overrides={**TINY, "surrogate_run": str(tmp_path / "empty")}, out_dir=tmp_path / "c")
