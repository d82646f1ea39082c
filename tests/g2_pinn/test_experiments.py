"""Integration: the flagship's quick preset end to end (round and flat charts), kill + resume, spectra, imports."""

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

SMALL = {"steps": 12, "warmup": 2, "batch": 32, "export_points": 200, "spectrum_points": 400,
         "eval_points": 32, "n_eigenvalues": 8, "checkpoint_every": 4}


def test_train_quick_end_to_end(labkit_run, tmp_path):
    out = tmp_path / "run"
    res = labkit_run("g2-pinn:train", preset="quick", overrides=SMALL, out_dir=out)
    h = res["headline"]
    assert h["lambda1_H_target"] == 13 and h["det_g_target"] == 65 / 32
    assert res["validation"]["fd_exterior_derivative_agrees"]
    assert res["validation"]["metric_positive_definite"]
    assert res["model"]["hidden"] == [64, 64, 64, 32]
    assert abs(res["det_g"]["mean"] - 65 / 32) < 0.2
    assert res["chart"]["name"] == "round" and res["validation"]["reference_curvature_reproduced"]
    assert h["Rm_rms_init"] > 0 and h["dphi_rms_init"] > 0  # a curved, torsionful warm start
    # the round reference's spectrum: lambda1 = 3/33^2 (the larger S^3, l = 1, x4)
    ref = res["spectrum"]["reference_exact"]["multiplicities"]
    assert abs(ref[1][0] - 3 / 33 ** 2) < 1e-12 and ref[1][1] == 4
    for name in ("coords", "metrics", "phi", "ambient_points"):
        assert np.load(out / "export" / f"{name}.npy").shape[0] == 200
    spec = labkit_run("g2-pinn:spectrum", overrides={"source": "saved", "path": str(out / "export"),
                                                     "n_eigenvalues": 5}, out_dir=tmp_path / "saved")
    assert spec["points"] == 200 and spec["eigenvalues"][0] < 1e-8
    assert (out / "figures" / "summary.png").exists()
    # resume after completion continues nothing and reproduces the same training record
    res2 = labkit_run("g2-pinn:train", preset="quick", overrides=SMALL, out_dir=out, resume=True)
    assert res2["training"]["final"] == res["training"]["final"]


def test_train_flat_chart_has_the_galerkin_spectrum(labkit_run, tmp_path):
    res = labkit_run("g2-pinn:train", preset="quick", overrides={**SMALL, "chart": "flat", "steps": 4},
                     out_dir=tmp_path / "flat")
    # exact: lambda1 of c diag(1, rho^2 I3, I3) is 1 / (c rho^2) with multiplicity 6
    assert res["spectrum"]["reference_exact"]["multiplicities"][1][1] == 6
    assert res["spectrum"]["galerkin"]["multiplicities"][0][0] < 1e-9
    assert res["validation"]["reference_curvature_reproduced"]  # flat: R = 0


def _history(folder):
    with open(folder / "history.csv") as fh:
        return [row for row in csv.DictReader(fh)]


def test_training_killed_after_a_checkpoint_resumes_to_the_same_history(tmp_path):
    args = ["run", "g2-pinn:train", "--preset", "quick", "--seed", "5"]
    for key, val in {**SMALL, "steps": 16, "hidden": "[16,16]", "spectrum_points": 100, "export_points": 50,
                     "curvature_points": 2, "fd_points": 2, "n_eigenvalues": 4}.items():
        args += ["--set", f"{key}={val}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "LABKIT_PROGRESS": "0"}
    subprocess.run([sys.executable, "-m", "labkit.core.cli", *args, "--out", str(tmp_path / "straight")],
                   check=True, env=env, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "labkit.core.cli", *args, "--out", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    ckpts = killed / "checkpoints" / "train"
    while proc.poll() is None and time.monotonic() - start < 120:  # kill as soon as a checkpoint exists
        if ckpts.exists() and any(ckpts.iterdir()):
            break
        time.sleep(0.005)
    was_running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert was_running, "the run finished before its first checkpoint could be seen"
    assert not (killed / "history.csv").exists()
    subprocess.run([sys.executable, "-m", "labkit.core.cli", *args, "--out", str(killed), "--resume"],
                   check=True, env=env, capture_output=True)
    assert _history(killed) == _history(tmp_path / "straight")


def test_spectrum_experiment_s3(labkit_run, tmp_path):
    res = labkit_run("g2-pinn:spectrum", preset="quick", overrides={"n_points": 1500, "n_eigenvalues": 6},
                     out_dir=tmp_path / "s")
    assert res["exact"][:5] == [0, 3, 3, 3, 3]
    assert max(abs(e) for e in res["relative_error"][:4]) < 0.06  # the l = 1 cluster (lambda = 3, x4)



def test_train_with_qimad_runs_and_reports(labkit_run, tmp_path):
    res = labkit_run("g2-pinn:train", preset="quick",
                     overrides={**SMALL, "steps": 3, "warmup": 1, "optimizer": "qimad", "qimad_agents": 2,
                                "weight_decay": 0.0},
                     out_dir=tmp_path / "qimad")
    assert res["training"]["optimizer"] == "qimad" and res["training"]["steps_run"] == 3
    assert res["validation"]["fd_exterior_derivative_agrees"]


def test_qimad_treats_a_degenerate_trial_agent_as_an_invalid_evaluation(labkit_run, tmp_path):
    # an absurd step size throws trial agents far from any positive 3-form: with QIMAD that must cost
    # those agents their move, not the run (with AdamW it is a clear error, tested elsewhere)
    res = labkit_run("g2-pinn:train", preset="quick",
                     overrides={**SMALL, "steps": 3, "warmup": 1, "optimizer": "qimad", "qimad_agents": 2,
                                "weight_decay": 0.0, "lr": 0.5, "chart": "flat"}, out_dir=tmp_path / "wild")
    assert res["training"]["steps_run"] == 3
    assert res["validation"]["metric_positive_definite"]
    assert sum(int(r["degenerate_evals"]) for r in _history(tmp_path / "wild")) > 0  # the path was exercised


def test_selected_weights_are_saved_and_reload_in_a_fresh_process(labkit_run, run_readme_example, tmp_path):
    import torch

    from labkit.core import load_run
    from labkit.g2_pinn.losses import G2Loss

    over = {**SMALL, "steps": 10, "select_every": 3, "holdout_points": 16}
    res = labkit_run("g2-pinn:train", preset="quick", overrides=over, out_dir=tmp_path / "runs" / "g2")
    sel = res["training"]["selected"]
    curve = [loss for _, loss in sel["curve"]]
    assert [s for s, _ in sel["curve"]] == [2, 5, 8, 9]
    assert sel["holdout_loss"] == min(curve) and sel["step"] == sel["curve"][curve.index(min(curve))][0]
    # the README example: a fresh process loads the artifact and gets the reported torsion back
    out = run_readme_example("g2-pinn", tmp_path).split()
    assert abs(float(out[0]) - float(out[1])) <= 1e-12 * max(1.0, float(out[1])) and out[2] == "True"
    run = load_run(tmp_path / "runs" / "g2")
    net, cfg = run.artifact("model"), run.config
    x_hold = net.chart.sample(16, torch.Generator().manual_seed(run.seed + 6006))
    loss_fn = G2Loss(weights={"torsion_dphi": cfg["w_dphi"], "torsion_dstar": cfg["w_dstar"],
                              "proxy_standard_form": cfg["w_standard_form"], "proxy_det": cfg["w_det"],
                              "proxy_normalisation": cfg["w_normalisation"], "proxy_smoothness": cfg["w_smoothness"]})
    assert float(loss_fn(net, x_hold)[0].total.detach()) == pytest.approx(sel["holdout_loss"], rel=1e-10)
    spec = labkit_run("g2-pinn:spectrum", overrides={"source": "saved", "path": str(tmp_path / "runs" / "g2"),
                                                     "n_eigenvalues": 4, "galerkin": False}, out_dir=tmp_path / "spec")
    assert spec["points"] == SMALL["export_points"] and (tmp_path / "spec" / "figures" / "spectrum.png").exists()


@pytest.mark.slow
def test_spectrum_of_a_saved_neck_run_has_the_galerkin_change_with_error_bars(labkit_run, tmp_path):
    labkit_run("g2-pinn:train", preset="quick", overrides={**SMALL, "steps": 6}, out_dir=tmp_path / "g2")
    spec = labkit_run("g2-pinn:spectrum", overrides={"source": "saved", "path": str(tmp_path / "g2"),
                                                     "n_eigenvalues": 6}, out_dir=tmp_path / "spec")
    g = spec["galerkin_neck"]
    for which in ("trained", "initial"):
        lam = g[which]["lambda"]
        assert abs(lam[0]) < 1e-12 and all(t >= -1e-12 for t in g[which]["truncation"])  # nested bases
        assert abs(lam[1] / g["reference_lambda1"] - 1) < 0.1  # near the round level 3/33^2
    assert g["error_bar_lambda1"] < 1e-3 * g["reference_lambda1"]
