"""The classical experiments through the real runner (quick presets / tiny overrides)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # small matrices on a shared 2-core machine: multi-threaded BLAS only spins (10x the CPU time)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def test_simulate_quick(labkit_run) -> None:
    res = labkit_run("nmr-fno:simulate", preset="quick")
    head = res["headline"]
    assert head["n_spins"] == 6 and head["max_abs_error_vs_dense_expm"] < 1e-8


def test_scaling_classical_tiny_and_resume(labkit_run, tmp_path) -> None:
    over = {"n_values": [3, 4], "methods": ["exact", "chebyshev", "dense-expm"], "repeats": 2, "warmup": 0,
            "skip_above_s": 1e9}
    out = tmp_path / "scal"
    res = labkit_run("nmr-fno:scaling-classical", preset="quick", overrides=over, out_dir=out)
    rows = res["timing"]
    assert len(rows) == 6 and all(r["measured"] for r in rows)
    ref = [r for r in rows if r["method"] == "dense-expm"]
    assert all(r["speedup_vs_dense_expm"] == pytest.approx(1.0) for r in ref)
    assert (out / "timing.csv").exists() and (out / "figures" / "scaling.png").exists()
    again = labkit_run("nmr-fno:scaling-classical", preset="quick", overrides=over, out_dir=out, resume=True)
    assert [r["median_s"] for r in again["timing"]] == [r["median_s"] for r in rows]  # resumed, not re-timed


def test_scaling_config_rejects_unknown_method(labkit_run) -> None:
    from labkit.core import ConfigError

    with pytest.raises(ConfigError, match="methods"):
        labkit_run("nmr-fno:scaling-classical", overrides={"methods": ["exact", "magic"]})
