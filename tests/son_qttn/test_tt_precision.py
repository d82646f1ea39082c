"""TT-SVD as a library: float64 stays float64, the Oseledets bound holds below float32 precision,
spectra and rank-capped reconstructions are available, and enlargement is reported."""

from __future__ import annotations

import warnings

import jax
import numpy as np
import pytest

from labkit.son_qttn import TT, precision_scope, tt_round, tt_svd


def _smooth(shape, seed=0):
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing="ij")
    return np.exp(-sum(g * (k + 1) for k, g in enumerate(grids))) + 1e-3 * rng.standard_normal(shape)


@pytest.mark.parametrize("tol", [1e-10, 1e-12, 1e-6])
def test_oseledets_bound_in_float64_without_jax_x64(tol):
    assert not jax.config.jax_enable_x64  # the library must not depend on the global flag
    a = _smooth((6, 5, 7, 4))
    tt = tt_svd(a, tol=tol)
    full = tt.full()
    assert full.dtype == np.float64 and isinstance(full, np.ndarray)
    err = np.linalg.norm(full - a)
    assert err <= tol * np.linalg.norm(a)
    assert err <= tt.error_bound * (1 + 1e-6) + 1e-13 * np.linalg.norm(a)


def test_jax_cores_keep_jax_precision():
    from labkit.son_qttn import tt_svd_fixed

    a = _smooth((4, 4, 4))
    out = TT(tt_svd_fixed(a, ranks=(4, 4))).full()
    assert isinstance(out, jax.Array) and out.dtype == np.float32  # x64 off: JAX's precision
    with precision_scope("float64"):
        out64 = TT(tt_svd_fixed(a, ranks=(4, 4))).full()
        assert out64.dtype == np.float64
        np.testing.assert_allclose(np.asarray(out64), a, rtol=0, atol=1e-12)


def test_tol_below_the_dtype_precision_warns_and_float64_does_not():
    a = _smooth((4, 4, 4))
    with pytest.warns(RuntimeWarning, match="float32"):
        tt_svd(a.astype(np.float32), tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tt_svd(a, tol=1e-10)
    with pytest.warns(RuntimeWarning, match="float64"):
        tt_svd(a, tol=1e-17)


def test_singular_values_are_each_unfolding_spectrum():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4, 5))
    tt = tt_svd(a, tol=1e-12)  # nothing cut: every spectrum is the exact unfolding spectrum
    assert len(tt.singular_values) == a.ndim - 1
    for k, s in enumerate(tt.singular_values):
        ref = np.linalg.svd(a.reshape(int(np.prod(a.shape[:k + 1])), -1), compute_uv=False)
        np.testing.assert_allclose(s, ref, rtol=1e-10)
    assert isinstance(tt_svd(a).ranks, tuple)  # the return type is unchanged: still a TT
    rounded = tt_round(tt, tol=1e-12)
    for k, s in enumerate(rounded.singular_values):
        ref = np.linalg.svd(a.reshape(int(np.prod(a.shape[:k + 1])), -1), compute_uv=False)
        np.testing.assert_allclose(s, ref, rtol=1e-8)


def test_rank_capped_reconstruction_is_the_optimal_matrix_truncation_for_two_modes():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((8, 9))
    tt = tt_svd(a, tol=1e-12)
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    for r in (1, 3, 5):
        best = (u[:, :r] * s[:r]) @ vt[:r]  # Eckart-Young: the independent reference
        np.testing.assert_allclose(tt.full(max_rank=r), best, atol=1e-10)
    capped = tt.full(max_rank=2)
    assert capped.shape == a.shape and np.linalg.matrix_rank(capped) == 2


def test_compression_that_enlarges_the_data_is_reported():
    noise = np.random.default_rng(5).standard_normal((4, 4, 4, 4))
    tt = tt_svd(noise, tol=1e-6)
    assert tt.n_params > noise.size and tt.enlarges and tt.compression_ratio < 1
    smooth = tt_svd(np.ones((4, 4, 4, 4)), tol=1e-6)
    assert not smooth.enlarges


def test_compress_experiment_reports_enlargement(labkit_run, tmp_path):
    res = labkit_run("son-qttn:compress", preset="quick",
                     overrides={"n_images": 16, "tolerances": [0.3, 1e-4]}, out_dir=tmp_path / "c")
    enlarged = [r for r in res["rows"] if r["enlarges"]]
    assert res["headline"]["enlarging_points"] == len(enlarged) >= 1  # 1e-4 on 16 digits keeps everything
    assert all(r["n_params"] > res["headline"]["full_size"] for r in enlarged)
    assert "larger than the data" in (tmp_path / "c" / "log.txt").read_text()
