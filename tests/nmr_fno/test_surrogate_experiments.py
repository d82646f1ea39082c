"""Integration: the surrogate experiments run through the real runner (tiny settings; quick preset is slow-marked)."""

import json

import pytest
import torch

TINY = {"n_spins": [3, 4], "train_counts": [16, 8], "test_per_n": 4, "epochs": 2, "width": 8, "n_layers": 2, "modes": 8,
        "n_t": 64, "mc_passes": 2, "torch_threads": 1}


@pytest.fixture(autouse=True)
def _restore_threads():
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def test_flagship_tiny_writes_results_and_resumes(labkit_run, tmp_path):
    out = tmp_path / "run"
    res = labkit_run("nmr-fno:surrogate", preset="quick", overrides={**TINY, "timing_repeats": 1, "timing_batch": 4}, out_dir=out)
    head = res["headline"]
    assert head["N"] == 4 and head["rmse_surrogate"] > 0 and head["exact_block_s"] > 0 and head["speedup_vs_block_b1"] > 0
    assert (out / "per_n.csv").exists() and (out / "figures" / "rmse_speedup.png").exists()
    assert len(res["per_n"]) == 2 and all(0 <= r["coverage_95"] <= 1 for r in res["per_n"])
    again = labkit_run("nmr-fno:surrogate", preset="quick", overrides={**TINY, "timing_repeats": 1, "timing_batch": 4}, out_dir=out, resume=True)
    # resumed after the last checkpoint: identical accuracy figures (timings differ)
    assert [r["rmse"] for r in again["per_n"]] == [r["rmse"] for r in res["per_n"]]


def test_bad_config_is_rejected(labkit_run):
    from labkit.core import ConfigError, LabkitError

    with pytest.raises((ConfigError, LabkitError), match="train_counts"):
        labkit_run("nmr-fno:surrogate", preset="quick", overrides={"n_spins": [3, 4], "train_counts": [5]})


@pytest.mark.slow
def test_flagship_quick_preset(labkit_run):
    res = labkit_run("nmr-fno:surrogate", preset="quick")
    assert res["headline"]["rmse_surrogate"] < res["headline"]["rmse_mean_baseline"]


@pytest.mark.slow
@pytest.mark.parametrize("name,extra", [
    ("scaling", {"timing_n": [4, 6], "timing_repeats": 1}),
    ("conservation", {"long_n": [4], "long_points": 500}),
    ("topology", {}),
    ("ood-j", {}),
    ("inverse", {"n_systems": 1, "n_candidates": 4, "snrs": [20.0, 50.0], "fit_n_spins": 3}),
    ("calibration", {}),
])
def test_study_experiments_tiny(labkit_run, tmp_path, name, extra):
    res = labkit_run(f"nmr-fno:{name}", preset="quick", overrides={**TINY, **extra}, out_dir=tmp_path / name)
    assert res["headline"]
    assert list((tmp_path / name / "figures").glob("*.png"))
    json.dumps(res["headline"])


def test_spinach_reports_unavailable_without_matlab(labkit_run, tmp_path):
    res = labkit_run("nmr-fno:spinach", preset="quick", out_dir=tmp_path / "sp")
    if res["available"]:
        pytest.skip("MATLAB + Spinach present")
    assert res["headline"]["spinach"] == "unavailable" and "MATLAB" in res["reason"]
    assert (tmp_path / "sp" / "figures" / "spinach.png").exists()


@pytest.mark.parametrize("field,band", [("ood_low", [1.0, 5.0, 9.0]), ("ood_high", [35.0]), ("ood_high", [35.0, 20.0]),
                                        ("ood_low", [1.0, float("inf")])])
def test_ood_bands_are_checked_before_training(labkit_run, field, band):
    # a band random_system cannot draw from used to fail only after the whole training run
    from labkit.core import ConfigError, LabkitError

    with pytest.raises((ConfigError, LabkitError), match=field):
        labkit_run("nmr-fno:ood-j", preset="quick", overrides={**TINY, field: band})


def test_ood_j_bands():
    from labkit.nmr_fno.experiments.studies import OODConfig

    cfg = OODConfig(ood_low=[1.0, 5.0], ood_high=[20.0, 35.0])
    cfg.validate()
    assert cfg.j_bands() == [("in-range", (5.0, 20.0)), ("low", (1.0, 5.0)), ("high", (20.0, 35.0))]


def test_studies_reuse_a_flagship_surrogate_read_only_and_scaling_pairs_speedup_with_error(labkit_run, tmp_path):
    import hashlib

    labkit_run("nmr-fno:surrogate", preset="quick", overrides={**TINY, "timing_repeats": 1, "timing_batch": 4}, out_dir=tmp_path / "flag")
    pt = tmp_path / "flag" / "train-surrogate.pt"
    sha, before = hashlib.sha256(pt.read_bytes()).hexdigest(), pt.stat().st_mtime_ns
    res = labkit_run("nmr-fno:scaling", preset="quick", out_dir=tmp_path / "sc",
                     overrides={**TINY, "timing_n": [4, 6], "timing_repeats": 1, "surrogate_run": str(tmp_path / "flag")})
    log = (tmp_path / "sc" / "log.txt").read_text()
    assert sha in log and "training on" not in log and not (tmp_path / "sc" / "train-surrogate.pt").exists()
    assert pt.stat().st_mtime_ns == before
    for r in res["rows"]:  # N = 6 is not a trained N: timed, but no speed-up without an error
        assert (r["speedup_vs_fastest"] is None) == (r["method"] == "surrogate" and r["rmse"] is None)
    assert any(r["method"] == "surrogate" and r["n_spins"] == 6 and r["speedup_vs_fastest"] is None for r in res["rows"])
    assert res["headline"]["N"] == 4 and res["headline"]["surrogate_rmse"] > 0


def test_flagship_run_artifact_reloads_in_a_fresh_process(labkit_run, tmp_path):
    import subprocess
    import sys

    res = labkit_run("nmr-fno:surrogate", preset="quick", overrides={**TINY, "timing_repeats": 1, "timing_batch": 4}, out_dir=tmp_path / "f")
    code = ("import json; from labkit.core import load_run; from labkit.nmr_fno import Surrogate, random_system\n"
            f"run = load_run({str(tmp_path / 'f')!r}); sur = Surrogate.load(run)\n"
            "assert type(sur).__name__ == 'Surrogate', type(sur)\n"
            "print(json.dumps(sur.predict([random_system(4, 'chain', seed=123)], check_range=False)[0, 0, :16].tolist()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert max(abs(a - b) for a, b in zip(json.loads(out), res["probe_mx"], strict=True)) <= 1e-12
