"""TT-SVD: Oseledets bound on every call, known ranks, QTT of smooth functions, tensorly."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.son_qttn import from_qtt_tensor, precision_scope, to_qtt_tensor, tt_entry, tt_inner, tt_norm
from labkit.son_qttn.tt import TT, tt_full, tt_round, tt_svd, tt_svd_fixed


@pytest.fixture(autouse=True)
def _x64():
    with precision_scope("float64"):
        yield


def checked_tt_svd(a, tol, max_rank=None) -> TT:
    """tt_svd plus the guarantee ‖A − TT‖ <= tol‖A‖ (and <= the certified bound), checked every call."""
    tt = tt_svd(a, tol=tol, max_rank=max_rank)
    err = np.linalg.norm(np.asarray(tt.full()) - a)
    assert err <= tt.error_bound * (1 + 1e-8) + 1e-12 * np.linalg.norm(a)
    if max_rank is None:
        assert err <= tol * np.linalg.norm(a) * (1 + 1e-8) + 1e-13
    return tt


def random_tt(shape, ranks, seed=0):
    rng = np.random.default_rng(seed)
    full_r = (1, *ranks, 1)
    cores = [rng.standard_normal((full_r[k], n, full_r[k + 1])) for k, n in enumerate(shape)]
    return np.asarray(tt_full(cores))


def test_known_ranks_recovered_exactly():
    a = random_tt((4, 5, 6, 5, 4), (3, 4, 4, 2))
    assert checked_tt_svd(a, 1e-10).ranks == (1, 3, 4, 4, 2, 1)


def test_random_tensor_has_full_ranks():
    a = np.random.default_rng(1).standard_normal((3, 4, 5, 6))
    # full ranks: min(prod of left modes, prod of right modes)
    assert checked_tt_svd(a, 1e-12).ranks == (1, 3, 12, 6, 1)


def test_qtt_of_sampled_sine_has_rank_two():
    x = np.sin(7.3 * np.linspace(0, 1, 2**10) + 0.4)
    tt = checked_tt_svd(np.asarray(to_qtt_tensor(x, n_image_axes=1)), 1e-10)
    assert tt.ranks == (1,) + (2,) * 9 + (1,)
    assert tt.compression_ratio > 1024 / (4 * 2 + 8 * 8 + 4) - 1e-9


@pytest.mark.parametrize("tol", [0.3, 0.1, 0.03, 1e-3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bound_holds_on_noisy_tensors(tol, seed):
    rng = np.random.default_rng(seed)
    a = random_tt((4, 4, 4, 4, 4), (3, 5, 5, 3), seed) + 0.05 * rng.standard_normal((4,) * 5)
    checked_tt_svd(a, tol)


def test_max_rank_caps_and_reports_bound():
    a = np.random.default_rng(3).standard_normal((6, 6, 6))
    tt = checked_tt_svd(a, 1e-8, max_rank=2)
    assert max(tt.ranks) == 2
    # the certified bound is then sqrt(sum of discarded squared singular values), above tol
    assert tt.error_bound > 1e-8 * np.linalg.norm(a)


def test_round_recompresses_within_bound():
    a = random_tt((3, 4, 5, 4), (2, 3, 2))
    tt = checked_tt_svd(a + 1e-3 * np.random.default_rng(0).standard_normal(a.shape), 1e-12)
    r = tt_round(tt, tol=0.01)
    err = np.linalg.norm(np.asarray(r.full()) - np.asarray(tt.full()))
    assert err <= 0.01 * np.linalg.norm(np.asarray(tt.full())) * (1 + 1e-8)
    assert r.ranks == (1, 2, 3, 2, 1)


def test_fixed_rank_jit_path_matches_rank_revealing_path():
    a = random_tt((4, 5, 6), (2, 3))
    cores = tt_svd_fixed(a, ranks=(2, 3))
    np.testing.assert_allclose(np.asarray(tt_full(cores)), a, atol=1e-9 * np.abs(a).max())


def test_matches_tensorly_at_equal_ranks():
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import tensor_train

    a = np.random.default_rng(4).standard_normal((5, 6, 7, 5))
    ranks = (1, 3, 4, 2, 1)
    ours = tt_svd(a, tol=1e-12, max_rank=None)
    ours = tt_round(ours, tol=1e-14, max_rank=None)
    theirs = tensor_train(tl.tensor(a), rank=list(ranks))
    ref = np.linalg.norm(tl.tt_to_tensor(theirs) - a)
    # sequential truncation at the same ranks: the same algorithm, the same error
    mine = tt_svd_fixed(a, ranks=ranks[1:-1])
    assert np.linalg.norm(np.asarray(tt_full(mine)) - a) == pytest.approx(ref, rel=1e-8)
    assert ours.ranks == (1, 5, 30, 5, 1)


def test_contractions_agree_with_dense():
    a, b = random_tt((3, 4, 5), (2, 2), 5), random_tt((3, 4, 5), (2, 3), 6)
    ta, tb = checked_tt_svd(a, 1e-12), checked_tt_svd(b, 1e-12)
    assert float(tt_inner(ta, tb)) == pytest.approx(float(np.sum(a * b)), rel=1e-9)
    assert float(tt_norm(ta)) == pytest.approx(np.linalg.norm(a), rel=1e-9)
    assert float(tt_entry(ta, (2, 1, 3))) == pytest.approx(a[2, 1, 3], rel=1e-9)


def test_qtt_image_roundtrip_mixed_radix():
    x = np.random.default_rng(0).random((3, 28, 12))
    q = to_qtt_tensor(x)
    assert q.shape == (3, 2, 2, 2, 2, 7, 3)
    np.testing.assert_array_equal(np.asarray(from_qtt_tensor(q, (28, 12))), x)


@pytest.mark.parametrize("bad, match", [(dict(tol=0.0), "tol"), (dict(tol=-1.0), "tol"), (dict(tol=0.1, max_rank=0), "max_rank")])
def test_bad_arguments_named(bad, match):
    with pytest.raises(ValueError, match=match):
        tt_svd(np.ones((2, 2)), **bad)


def test_nan_tensor_refused():
    a = np.ones((2, 3))
    a[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"tensor.*NaN"):
        tt_svd(a, tol=0.1)
