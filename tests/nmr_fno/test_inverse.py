"""Inverse fits: noiseless recovery of J (and offsets), cache identity and hit counts, bad FID input."""

import numpy as np
import pytest

from labkit.nmr_fno.inverse import EvaluationCache, add_noise, exact_forward, fit_couplings
from labkit.nmr_fno.surrogate import surrogate_times
from labkit.nmr_fno.systems import SpinSystem, random_system

TIMES = surrogate_times(120)
FWD = exact_forward(TIMES)


def test_noiseless_recovery_of_couplings_exact_forward():
    truth = random_system(3, "chain", seed=3)
    res = fit_couplings(FWD, truth, FWD(truth), n_candidates=16)
    true_j = [truth.couplings_hz[0, 1], truth.couplings_hz[1, 2]]
    np.testing.assert_allclose(res.couplings, true_j, atol=1e-4)
    assert res.cost < 1e-12 and res.success


def test_noiseless_recovery_with_offsets():
    truth = SpinSystem([-60.0, 10.0, 70.0], [[0, 12.0, 0], [12.0, 0, 7.0], [0, 7.0, 0]])
    start = SpinSystem(truth.offsets_hz + np.array([1.5, -2.0, 1.0]), truth.couplings_hz)
    res = fit_couplings(FWD, start, FWD(truth), fit_offsets=True, n_candidates=16)
    np.testing.assert_allclose(res.offsets, truth.offsets_hz, atol=1e-4)
    np.testing.assert_allclose(res.couplings, [truth.couplings_hz[0, 1], truth.couplings_hz[1, 2]], atol=1e-3)


def test_cache_identical_values_and_hits():
    calls = []

    def fwd(system):
        calls.append(1)
        return FWD(system)

    cache = EvaluationCache(fwd)
    s = random_system(3, seed=1)
    a, b = cache(s), cache(SpinSystem(s.offsets_hz.copy(), s.couplings_hz.copy()))
    assert np.array_equal(a, b) and cache.hits == 1 and cache.misses == 1 and len(calls) == 1
    a[0, 0] = 99.0  # callers cannot corrupt the stored value
    assert cache(s)[0, 0] == 1.0
    shifted = SpinSystem(s.offsets_hz + np.array([0, 0, 1e-9]), s.couplings_hz)
    cache(shifted)
    assert cache.misses == 2  # a different system is never a hit
    # a repeated fit on new data reuses the seeded candidate scan: hits, and the same answer as uncached
    truth = random_system(3, seed=2)
    rng = np.random.default_rng(0)
    d1, d2 = add_noise(FWD(truth), 20, rng), add_noise(FWD(truth), 20, rng)
    fit_couplings(fwd, truth, d1, n_candidates=12, cache=cache)
    r2 = fit_couplings(fwd, truth, d2, n_candidates=12, cache=cache)
    plain = fit_couplings(FWD, truth, d2, n_candidates=12)
    assert r2.cache_hits >= 12
    np.testing.assert_array_equal(r2.couplings, plain.couplings)


def test_bad_fid_input():
    truth = random_system(3, seed=0)
    fid = FWD(truth)
    fid[0, 3] = np.nan
    with pytest.raises(ValueError, match="fid: contains NaN"):
        fit_couplings(FWD, truth, fid)
    with pytest.raises(ValueError, match="shape"):
        fit_couplings(FWD, truth, np.zeros((3, 10)))
    with pytest.raises(ValueError, match="snr"):
        add_noise(fid, 0.0, np.random.default_rng(0))
