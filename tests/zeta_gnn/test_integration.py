"""The flagship quick preset end to end, bit-identical resume, the other experiments, bad config."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from labkit.core import ConfigError, LabkitError


def test_train_quick_preset(labkit_run, tmp_path):
    out = tmp_path / "train"
    res = labkit_run("zeta-gnn:train", preset="quick", out_dir=out)
    head = res["headline"]
    m = res["metrics"]
    # the smooth baseline's held-out error is S(t)-sized (SCIENCE: ~0.3 mean spacings)
    assert 0.15 < head["test RMSE RvM baseline"] < 0.4
    assert np.isfinite(head["test RMSE model (mean spacings)"])
    # an index-only model cannot beat S(t): it must not do much better than the baseline
    assert head["test RMSE model (mean spacings)"] > 0.8 * head["test RMSE RvM baseline"]
    assert "test RMSE random edges" in head
    assert m["test_spacing_baseline_linear_5each"] < m["test_spacing_baseline_const1"]
    for name in ("spacings", "residuals", "pair_correlation", "validation"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    assert res["spacing_law"] == "empirical"
    # 80 / 10 / 10: zeros 4,001-4,500 pick the epoch, 4,501-5,000 are the reported test block
    assert res["validation"]["zeros"] == [4001, 4500] and res["test_zeros"] == [4501, 5000]
    hist = (out / "history.csv").read_text().splitlines()
    assert len(hist) == 61 and "rg" in hist[0] and "val_loss" in hist[0]
    # the training loop's clock: rising per epoch, without the final checkpoint and results
    import csv
    import itertools

    times = [float(r["time_s"]) for r in csv.DictReader((out / "history.csv").open())]
    assert all(b > a > 0 for a, b in itertools.pairwise(times))
    assert res["train_loop_s"] == times[-1] <= res["train_seconds"]


def test_resume_is_bit_identical(labkit_run, tmp_path):
    over = {"n_zeros": 400, "epochs": 4, "checkpoint_every": 2, "hidden": 16, "predict_k": 10, "ablation": False}
    a = tmp_path / "a"
    full = labkit_run("zeta-gnn:train", preset="quick", overrides=over, out_dir=a)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    # pretend the run was killed after epoch 2: drop the final checkpoint and the results
    (b / "checkpoints" / "train" / "step-0000000004.ckpt").unlink()
    (b / "results.json").unlink()
    progress = b / "progress.json"
    if progress.exists():
        progress.unlink()
    resumed = labkit_run("zeta-gnn:train", preset="quick", overrides=over, out_dir=b, resume=True)
    assert resumed["metrics"] == full["metrics"]
    assert json.loads((b / "results.json").read_text())["results"]["metrics"]["test_model_rmse"] == full["metrics"]["test_model_rmse"]
    assert resumed["validation"] == full["validation"]


def test_spacing_target_against_linear_baselines(labkit_run, tmp_path):
    over = {"n_zeros": 2000, "target": "spacing", "epochs": 15, "hidden": 32, "w_rg": 0.0, "ablation": False,
            "predict_k": 20, "spacing_law": "wigner"}
    res = labkit_run("zeta-gnn:train", preset="quick", overrides=over, out_dir=tmp_path / "s")
    head = res["headline"]
    assert "test spacing RMSE linear(prev 10)" in head
    assert 0.3 < head["test spacing RMSE const 1"] < 0.5


def test_minibatch_metis_runs_and_reports_survival(labkit_run, tmp_path):
    over = {"n_zeros": 1000, "epochs": 2, "batching": "metis", "n_parts": 16, "clusters_per_batch": 4,
            "w_rg": 0.0, "hidden": 16, "ablation": False, "predict_k": 10}
    res = labkit_run("zeta-gnn:train", preset="quick", overrides=over, out_dir=tmp_path / "m")
    assert 0.0 < res["final_loss"]["spacing_survival"] < 1.0
    assert res["final_loss"]["nodes"] == 800  # every training node (80% of 1,000) once per epoch


def test_statistics_and_zeros_quick(labkit_run, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_ZETA_CACHE", str(tmp_path / "cache"))
    st = labkit_run("zeta-gnn:statistics", preset="quick", out_dir=tmp_path / "st")
    assert st["ks"]["gaudin"] < 0.05 and abs(st["spacing_mean"] - 1) < 0.01
    z = labkit_run("zeta-gnn:zeros", preset="quick", overrides={"count": 20, "chunk_size": 10, "check_mpmath": 1,
                                                               "workers": 1}, out_dir=tmp_path / "z")
    assert z["mpmath_check"]["max_abs_diff_vs_mpmath"] < 1e-9
    assert len((tmp_path / "z" / "zeros.txt").read_text().splitlines()) == 21


@pytest.mark.parametrize("over,field", [({"n_zeros": 1}, "n_zeros"), ({"w_rg": 1.0, "batching": "metis"}, "w_rg"),
                                        ({"primes": [2, 4]}, "primes"), ({"target": "height"}, "target")])
def test_bad_config_names_the_field(labkit_run, tmp_path, over, field):
    with pytest.raises(ConfigError, match=field):
        labkit_run("zeta-gnn:train", preset="quick", overrides=over, out_dir=tmp_path / "bad")


def test_malformed_data_table_is_a_user_error(labkit_run, tmp_path):
    p = tmp_path / "z.txt"
    p.write_text("14.1\n13.0\n")
    with pytest.raises(LabkitError, match="line 2"):
        labkit_run("zeta-gnn:train", preset="quick", overrides={"data_path": str(p)}, out_dir=tmp_path / "bad")


@pytest.mark.parametrize("over", [{"optimizer": "qimad", "lr": 0.01}, {"target": "ordinate"},
                                  {"batching": "contiguous", "n_parts": 8, "w_rg": 0.0, "spacing_law": "gaudin"}])
def test_other_options_run(labkit_run, tmp_path, over):
    base = {"n_zeros": 300, "epochs": 3, "hidden": 8, "ablation": False, "predict_k": 5}
    res = labkit_run("zeta-gnn:train", preset="quick", overrides={**base, **over}, out_dir=tmp_path / "o")
    assert np.isfinite(res["metrics"]["test_model_rmse"]) and np.isfinite(res["final_loss"]["mse"])
