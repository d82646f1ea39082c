"""The experiments through the real runner: flagship quick preset, resume, compress, ebm, plugin weight."""

from __future__ import annotations

import pytest


def test_hybrid_quick_preset(labkit_run):
    res = labkit_run("son-qttn:hybrid", preset="quick")
    h = res["headline"]
    assert res["bound_held_every_cycle"]
    assert h["qtt_compression_ratio"] > 1.0
    assert 0 < h["qtt_recon_mse"] < 1e-3 and h["svd_recon_mse_same_params"] > 0
    assert len(res["cycles"]) == 20


def test_hybrid_resume_is_bit_identical(labkit_run, tmp_path):
    over = {"n_images": 16, "n_cycles": 6, "qttn.svd_tolerance": 0.05, "qttn.rank_truncation": 8}
    full = labkit_run("son-qttn:hybrid", preset=None, overrides=over, out_dir=tmp_path / "b")
    # as if killed during cycle 6: drop the newest checkpoint, resume from the one after cycle 5
    ckpts = sorted(p for p in (tmp_path / "b" / "checkpoints" / "cycles").iterdir() if p.is_file())
    assert len(ckpts) >= 2
    ckpts[-1].unlink()
    resumed = labkit_run("son-qttn:hybrid", preset=None, overrides=over, out_dir=tmp_path / "b", resume=True)
    assert resumed["cycles"] == full["cycles"]


def test_compress_quick(labkit_run):
    res = labkit_run("son-qttn:compress", preset="quick", overrides={"n_images": 64, "tolerances": [0.2, 0.05]})
    assert res["headline"]["bound_held"]
    assert {r["method"] for r in res["rows"]} == {"tt", "qtt", "svd"}


@pytest.mark.slow  # thrml compile dominates (~80 s under load); numerics are covered by test_ising/test_langevin
def test_ebm_small(labkit_run):
    over = {"n_chains": 200, "n_steps": 500, "n_images": 64, "train_steps": 10, "gibbs_chains": 8, "gibbs_sweeps": 5, "dim": 3}
    res = labkit_run("son-qttn:ebm", preset=None, overrides=over)
    assert res["mala_max_rel_cov_err"] < 0.1
    assert res["ula_analytic_bias"] < 0.01 and res["ula_step"] == 0.01  # ULA's own small step, not MALA's
    assert 0 <= res["ising_inpaint_error"] <= 1
