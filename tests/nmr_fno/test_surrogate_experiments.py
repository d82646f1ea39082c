"""Integration: the surrogate experiments run through the real runner (tiny settings; quick preset is slow-marked)."""

import json

import pytest
import torch

TINY = {"n_spins": [3, 4], "train_counts": [16, 8], "test_per_n": 4, "epochs": 2, "width": 8, "n_layers": 2, "modes": 8,
        "n_t": 64, "mc_passes": 2, "torch_threads": 1}
# the flagship (the fixed 1 s task): both kinds, tiny
FLAG = {"n_spins": [3, 4], "train_counts": [12, 8], "eval_n": [3, 4], "calib_per_n": 6, "test_per_n": 6, "epochs": 2,
        "batch_size": 4, "lines_hidden": 8, "lines_head_width": 8, "lines_slots": 2, "fno_width": 4, "fno_layers": 1,
        "fno_modes": 8, "timing_n": 4, "timing_repeats": 1, "torch_threads": 1}


@pytest.fixture(autouse=True)
def _restore_threads():
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def test_flagship_tiny_writes_results_and_resumes(labkit_run, tmp_path):
    out = tmp_path / "run"
    res = labkit_run("nmr-fno:surrogate", preset="quick", overrides=FLAG, out_dir=out)
    head = res["headline"]
    assert head["N"] == 4 and head["lines_median_rel_l2"] > 0 and head["fno_median_rel_l2"] > 0 and head["first_order_median"] > 0
    assert 0 <= head["coverage_95"] <= 1 and head["band_over_signal_rms"] > 0
    assert [r["n_spins"] for r in res["accuracy"]] == [3, 4] and res["timing"]["speedup_cpu1_b1"] > 0
    assert {"lines_median", "lines_p90", "fno_median", "mean_median", "first_order_p90"} <= set(res["accuracy"][0])
    assert (out / "accuracy.csv").exists() and (out / "conformal.csv").exists() and (out / "figures" / "accuracy.png").exists()
    header = (out / "history.csv").read_text().splitlines()
    assert header[0].split(",")[:2] == ["epoch", "train_loss"] and "train_loss_fno" in header[0] and len(header) == 1 + FLAG["epochs"]
    again = labkit_run("nmr-fno:surrogate", preset="quick", overrides=FLAG, out_dir=out, resume=True)
    # resumed after the last checkpoint: identical accuracy figures (timings differ)
    assert again["accuracy"] == res["accuracy"] and again["data"]["sha256"] == res["data"]["sha256"]


def test_run_restores_the_thread_setting(labkit_run, tmp_path, monkeypatch):
    """torch_threads holds inside the run only: the setting before the run is back afterwards."""
    import labkit.nmr_fno.surrogate_pipeline as pipeline

    seen = []
    evaluate = pipeline.evaluate_per_n
    monkeypatch.setattr(pipeline, "evaluate_per_n", lambda *a, **k: seen.append(torch.get_num_threads()) or evaluate(*a, **k))
    torch.set_num_threads(2)
    labkit_run("nmr-fno:topology", preset="quick", overrides=TINY, out_dir=tmp_path / "run")
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2


def test_qimad_with_weight_decay_is_a_config_error(labkit_run):
    from labkit.core import ConfigError, LabkitError

    with pytest.raises((ConfigError, LabkitError), match="weight_decay"):
        labkit_run("nmr-fno:surrogate", preset="quick", overrides={**FLAG, "optimizer": "qimad"})


def test_flagship_config_names_the_model_kinds():
    # the light config module keeps its own copy of the kinds (no torch at experiment-list import)
    from labkit.nmr_fno.experiments.surrogate import _KINDS
    from labkit.nmr_fno.fid_surrogate import KINDS

    assert _KINDS == KINDS


def test_bad_config_is_rejected(labkit_run):
    from labkit.core import ConfigError, LabkitError

    with pytest.raises((ConfigError, LabkitError), match="train_counts"):
        labkit_run("nmr-fno:surrogate", preset="quick", overrides={"n_spins": [3, 4], "train_counts": [5]})
    with pytest.raises((ConfigError, LabkitError), match="kinds"):
        labkit_run("nmr-fno:surrogate", preset="quick", overrides={"kinds": ["lines", "mlp"]})


@pytest.mark.slow
def test_flagship_quick_preset(labkit_run):
    head = labkit_run("nmr-fno:surrogate", preset="quick")["headline"]
    assert head["lines_median_rel_l2"] < min(head["first_order_median"], head["mean_trajectory_median"])


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


def test_studies_reuse_a_study_surrogate_read_only_and_scaling_pairs_speedup_with_error(labkit_run, tmp_path):
    import hashlib

    labkit_run("nmr-fno:topology", preset="quick", overrides=TINY, out_dir=tmp_path / "topo")
    pt = tmp_path / "topo" / "train-surrogate.pt"
    sha, before = hashlib.sha256(pt.read_bytes()).hexdigest(), pt.stat().st_mtime_ns
    res = labkit_run("nmr-fno:scaling", preset="quick", out_dir=tmp_path / "sc",
                     overrides={**TINY, "timing_n": [4, 6], "timing_repeats": 1, "surrogate_run": str(tmp_path / "topo")})
    log = (tmp_path / "sc" / "log.txt").read_text()
    assert sha in log and "training on" not in log and not (tmp_path / "sc" / "train-surrogate.pt").exists()
    assert pt.stat().st_mtime_ns == before
    for r in res["rows"]:  # N = 6 is not a trained N: timed, but no speed-up without an error
        assert (r["speedup_vs_fastest"] is None) == (r["method"] == "surrogate" and r["rmse"] is None)
    assert any(r["method"] == "surrogate" and r["n_spins"] == 6 and r["speedup_vs_fastest"] is None for r in res["rows"])
    assert res["headline"]["N"] == 4 and res["headline"]["surrogate_rmse"] > 0


def test_flagship_artifacts_reload_in_a_fresh_process_and_serve_the_studies(labkit_run, tmp_path):
    import subprocess
    import sys

    res = labkit_run("nmr-fno:surrogate", preset="quick", overrides={**FLAG, "timing": False}, out_dir=tmp_path / "f")
    code = ("import json; from labkit.core import load_run; from labkit.nmr_fno import task_system\n"
            f"run = load_run({str(tmp_path / 'f')!r}); sur = run.artifact('surrogate'); fno = run.artifact('surrogate-fno')\n"
            "assert (type(sur).__name__, sur.kind, fno.kind) == ('FIDSurrogate', 'lines', 'fno'), (sur, fno)\n"
            "assert sur.spec.n_spins == [3, 4] and sur.times.shape == (512,)\n"
            "print(json.dumps(sur.predict([task_system(4, 'ring', seed=123)], check_range=False)['Mx'][0, :16].tolist()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert max(abs(a - b) for a, b in zip(json.loads(out), res["probe_mx"], strict=True)) <= 1e-12
    studies = {"eval_n": [4], "test_per_n": 6, "calib_per_n": 6, "timing_repeats": 1, "inverse_n": [3], "inverse_trials": 1,
               "inverse_starts": 1, "snrs": [50.0], "conservation_n": [3], "conservation_points": 6}
    used = labkit_run("nmr-fno:studies", preset="quick", overrides={**studies, "surrogate_run": str(tmp_path / "f")}, out_dir=tmp_path / "s")
    assert used["surrogate"]["source"] == "run" and used["surrogate"]["experiment"] == "nmr-fno:surrogate"
