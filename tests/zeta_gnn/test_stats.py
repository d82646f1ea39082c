"""Baselines and spacing statistics against closed forms, brute force and published values."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy import integrate, stats

from labkit.zeta_gnn.baseline import (
    density,
    fit_linear_spacing,
    smooth_count,
    smooth_zeros,
    spacing_baselines,
    unfolded_spacings,
)
from labkit.zeta_gnn.spectral import (
    bogomolny_neff,
    gap_probability,
    gue_pair_correlation,
    ks_distance,
    pair_correlation,
    sample_wigner,
    spacing_law,
    spacing_ratio,
    wigner_cdf,
    wigner_pdf,
)
from labkit.zeta_gnn.tables import shipped_zeros


def test_smooth_zeros_invert_the_smooth_count():
    n = np.array([1.0, 10.0, 1e3, 1e5, 1e6, 1e9])
    t = smooth_zeros(n)
    np.testing.assert_allclose(smooth_count(t), n - 0.5, rtol=1e-12, atol=1e-9)
    # independent inversion by root finding in mpmath
    for ni, ti in zip(n[1:], t[1:], strict=False):
        def count_minus_target(x, ni=ni):
            return x / (2 * mpmath.pi) * mpmath.log(x / (2 * mpmath.pi * mpmath.e)) + mpmath.mpf(7) / 8 - (ni - 0.5)

        root = mpmath.findroot(count_minus_target, ti + 1)
        assert abs(float(root) - ti) < 1e-8 * ti


def test_smooth_baseline_error_is_s_of_t_sized():
    z = shipped_zeros()[:10_000]
    n = np.arange(1, z.size + 1)
    err = (smooth_zeros(n) - z) * density(z)
    rms = float(np.sqrt(np.mean(err[5000:] ** 2)))
    assert 0.2 < rms < 0.35  # S(t) at these heights; SCIENCE quotes 0.32 near 1e5


def test_density_is_the_derivative_of_the_count():
    t = np.array([50.0, 1e3, 1e5])
    h = 1e-4
    np.testing.assert_allclose((smooth_count(t + h) - smooth_count(t - h)) / (2 * h), density(t), rtol=1e-7)


def test_linear_spacing_fit_recovers_a_known_ar_process():
    rng = np.random.default_rng(0)
    s = np.ones(20_000)
    for i in range(2, s.size):
        s[i] = 1.0 + 0.3 * (s[i - 1] - 1) - 0.2 * (s[i - 2] - 1) + 0.1 * rng.standard_normal()
    coef = fit_linear_spacing(s, 2)
    np.testing.assert_allclose(coef[1:], [-0.2, 0.3], atol=0.02)
    b = spacing_baselines(s[:15000], s[15000:])
    assert b["linear_prev10"] < b["const1"]
    assert abs(b["linear_prev10"] - 0.1) < 0.005


def test_wigner_pdf_cdf_and_sampler():
    assert abs(integrate.quad(wigner_pdf, 0, np.inf)[0] - 1) < 1e-12
    assert abs(integrate.quad(lambda s: s * wigner_pdf(s), 0, np.inf)[0] - 1) < 1e-12
    for s in (0.3, 1.0, 2.2):
        assert abs(integrate.quad(wigner_pdf, 0, s)[0] - wigner_cdf(np.array(s))) < 1e-12
    x = sample_wigner(20_000, 1)
    res = stats.kstest(x, wigner_cdf)
    assert res.pvalue > 0.01
    assert ks_distance(x, wigner_cdf) == pytest.approx(res.statistic, abs=1e-12)
    # and a wrong law is rejected
    assert stats.kstest(x * 1.1, wigner_cdf).pvalue < 1e-6


def test_gaudin_law_matches_known_moments():
    g = spacing_law("gaudin")
    mean, var = g.moments()
    assert abs(mean - 1) < 1e-6
    assert abs(var - 0.17999) < 2e-4  # Mehta: GUE spacing variance 0.1800
    assert abs(integrate.quad(wigner_pdf, 0, 5)[0] - 1) < 1e-9


def test_cue_n2_gap_probability_has_the_closed_form_density():
    # two CUE eigenvalues: unfolded spacing density is sin^2(pi s / 2) on (0, 2)
    s, h = np.linspace(0.1, 1.9, 7), 1e-3
    def e(x):
        return gap_probability(x, 2.0)
    p = (e(s + h) - 2 * e(s) + e(s - h)) / h**2
    np.testing.assert_allclose(p, np.sin(np.pi * s / 2) ** 2, atol=1e-5)


def test_gap_probability_at_small_s():
    s = np.array([1e-2])
    # E(s) = 1 - s + O(s^4) for the sine kernel (no pair repulsion term at order s^2, s^3)
    assert abs(gap_probability(s)[0] - (1 - s[0])) < 1e-7


def test_bogomolny_law_is_a_distribution_between_narrow_and_gaudin():
    h = 1e4
    assert bogomolny_neff(h) == pytest.approx(np.log(h / (2 * np.pi)) / np.sqrt(12 * 1.57314))
    b = spacing_law("bogomolny", height=1e8)
    mean, var = b.moments()
    assert abs(mean - 1) < 2e-3 and var < spacing_law("gaudin").moments()[1]
    with pytest.raises(ValueError, match="height"):
        spacing_law("bogomolny", height=10.0)


def test_pair_correlation_of_a_poisson_process_is_flat_and_zeros_follow_montgomery():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.exponential(size=50_000))
    _u, r2 = pair_correlation(x, bins=30)
    assert abs(r2.mean() - 1) < 0.02
    z = shipped_zeros()[:20_000]
    from labkit.zeta_gnn.baseline import unfold

    u, r2 = pair_correlation(unfold(z), bins=30)
    assert np.sqrt(np.mean((r2 - gue_pair_correlation(u)) ** 2)) < 0.06


def test_zero_statistics_are_close_to_gue_but_not_poisson():
    s = unfolded_spacings(shipped_zeros()[:20_000])
    assert abs(s.mean() - 1) < 0.005
    assert ks_distance(s, spacing_law("gaudin").cdf_at) < 0.03
    assert ks_distance(s, lambda x: 1 - np.exp(-x)) > 0.2
    assert 0.58 < spacing_ratio(s) < 0.63


def test_empirical_law_samples_match_their_data():
    s = unfolded_spacings(shipped_zeros()[:10_000])
    law = spacing_law("empirical", empirical=s)
    assert stats.ks_2samp(law.sample(5000, 0), s).pvalue > 0.01
    with pytest.raises(ValueError, match="kind"):
        spacing_law("goe")
