"""Langevin samplers of a Gaussian EBM against the exact inverse precision."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.son_qttn.langevin import gaussian_precision, langevin_sample, max_rel_cov_error, ula_stationary_cov


def test_mala_and_baoab_sample_the_right_covariance():
    a = gaussian_precision(3, seed=0, cond=4.0)
    exact = np.linalg.inv(a)
    for method, h in (("mala", 0.3), ("baoab", 0.5)):
        r = langevin_sample(a, method=method, h=h, n_chains=250, n_steps=1500, n_burn=200, seed=1)
        assert max_rel_cov_error(r.cov, exact) < 0.02, method
        assert np.max(np.abs(r.mean)) < 0.05


def test_ula_has_its_analytic_bias():
    a = gaussian_precision(3, seed=0, cond=4.0)
    h = 0.2
    r = langevin_sample(a, method="ula", h=h, n_chains=500, n_steps=2000, n_burn=200, seed=2)
    biased = ula_stationary_cov(a, h)
    assert max_rel_cov_error(r.cov, biased) < 0.02
    assert max_rel_cov_error(biased, np.linalg.inv(a)) > 0.1  # the bias is real and is what we see


@pytest.mark.parametrize("kwargs, match", [(dict(method="hmc"), "method"), (dict(h=0.0), "h"), (dict(n_chains=0), "n_chains")])
def test_bad_arguments_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        langevin_sample(np.eye(2), **kwargs)


def test_indefinite_precision_refused():
    with pytest.raises(ValueError, match="positive definite"):
        langevin_sample(np.diag([1.0, -1.0]))
