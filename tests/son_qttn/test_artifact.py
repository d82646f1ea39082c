"""The hybrid run's final SON state and its QTT as artifacts, reused in a fresh process; a JAX-only run never loads torch."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from labkit.core import load_run

TINY = {"n_images": 16, "n_cycles": 3, "qttn.svd_tolerance": 0.05, "qttn.rank_truncation": 8}


def test_final_state_and_qtt_reload_in_a_fresh_process_with_the_reported_figures(labkit_run, run_readme_example,
                                                                                   tmp_path):
    res = labkit_run("son-qttn:hybrid", preset="quick", overrides=TINY, out_dir=tmp_path / "runs" / "son")
    lines = run_readme_example("son-qttn", tmp_path).strip().splitlines()
    mse_loaded, mse_reported = map(float, lines[-2].split())
    energy_loaded, energy_reported = map(float, lines[-1].split())
    assert mse_reported == res["headline"]["qtt_recon_mse"] and energy_reported == res["headline"]["energy_final"]
    assert abs(mse_loaded - mse_reported) <= 1e-12 * max(1.0, mse_reported)
    assert abs(energy_loaded - energy_reported) <= 1e-12 * max(1.0, abs(energy_reported))
    run = load_run(tmp_path / "runs" / "son")
    state, field = run.artifact("son_state"), run.artifact("qtt")
    assert state.v.shape == (16, 8, 8) and state.v.dtype == np.float64 and state.cycles == 3
    assert list(field.tt.ranks) == res["tt_ranks"]
    # the saved state is where the dynamics continue from: a few more steps stay finite and move it
    moved = state.simulate(5, seed=1)
    assert np.all(np.isfinite(moved)) and not np.array_equal(moved, state.v)


_JAX_ONLY = """
import sys
from labkit.core.plugins import PluginRegistry
from labkit.core.runner import run_experiment
run_experiment(PluginRegistry.discover(), "son-qttn:hybrid", preset="quick", out_dir=sys.argv[1], echo=False,
               overrides=["n_images=8", "n_cycles=2", "qttn.rank_truncation=4", "qttn.svd_tolerance=0.1"])
from labkit.core import load_run
load_run(sys.argv[1]).artifact("qtt").reconstruct()
print("jax" in sys.modules, "torch" in sys.modules)
"""


def test_a_jax_only_run_never_imports_torch(tmp_path):
    env = dict(os.environ, LABKIT_PROGRESS="0", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _JAX_ONLY, str(tmp_path / "r")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"]
