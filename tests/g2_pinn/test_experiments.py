"""Integration: the flagship's quick preset end to end, resume, the spectrum experiment, light imports."""

import subprocess
import sys

import numpy as np

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
    # warm-start spectrum is exact: lambda1 of c diag(1, rho^2 I3, I3) is 1 / (c rho^2)
    ws = res["spectrum"]["warm_start_exact"]["multiplicities"]
    assert ws[1][1] == 6
    for name in ("coords", "metrics", "phi"):
        assert np.load(out / "export" / f"{name}.npy").shape[0] == 200
    assert (out / "figures" / "summary.png").exists()
    # resume after completion continues nothing and reproduces the same training record
    res2 = labkit_run("g2-pinn:train", preset="quick", overrides=SMALL, out_dir=out, resume=True)
    assert res2["training"]["final"] == res["training"]["final"]


def test_spectrum_experiment_s3(labkit_run, tmp_path):
    res = labkit_run("g2-pinn:spectrum", preset="quick", overrides={"n_points": 1500, "n_eigenvalues": 6},
                     out_dir=tmp_path / "s")
    assert res["exact"][:5] == [0, 3, 3, 3, 3]
    assert max(abs(e) for e in res["relative_error"][:4]) < 0.06  # the l = 1 cluster (lambda = 3, x4)


def test_plugin_modules_do_not_import_torch():
    code = ("import sys, labkit.g2_pinn.plugin, labkit.g2_pinn.experiments; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
