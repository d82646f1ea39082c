"""MC dropout: zero variance without dropout, non-zero with it, calibration maths, OOD warnings."""

import numpy as np
import pytest
import torch

from labkit.nmr_fno.fno import FNOConfig
from labkit.nmr_fno.surrogate import OutOfRangeWarning, Surrogate, SurrogateSpec
from labkit.nmr_fno.systems import random_system
from labkit.nmr_fno.uncertainty import calibration, mc_dropout_predict


def _sur(dropout):
    torch.manual_seed(0)
    spec = SurrogateSpec(n_max=4, n_t=64, n_spins=[3, 4])
    return Surrogate.build(spec, FNOConfig(width=8, modes=8, n_layers=3, dropout=dropout))


SYSTEMS = [random_system(3, seed=s) for s in range(4)]


def test_variance_zero_with_dropout_off():
    pred = mc_dropout_predict(_sur(0.0), SYSTEMS, passes=10)
    assert pred.samples.shape == (10, 4, 3, 64)
    assert float(pred.std.max()) == 0.0


def test_variance_positive_with_dropout_and_mean_is_sample_mean():
    sur = _sur(0.3)
    pred = mc_dropout_predict(sur, SYSTEMS, passes=10)
    assert float(pred.std.min()) >= 0 and float(pred.std.mean()) > 1e-4
    np.testing.assert_allclose(pred.mean, pred.samples.mean(0))
    again = mc_dropout_predict(sur, SYSTEMS, passes=10)
    np.testing.assert_array_equal(pred.samples, again.samples)  # seeded masks
    assert sur.model.training  # mode restored (Surrogate.build leaves a fresh module in train mode)
    np.testing.assert_array_equal(sur.predict(SYSTEMS), sur.predict(SYSTEMS))  # deterministic path


def test_calibration_coverage_against_exact_gaussian():
    rng = np.random.default_rng(1)
    std = rng.uniform(0.05, 0.5, size=(20000, 1, 1))
    target = rng.normal(0.0, std)
    res = calibration(np.zeros_like(std), std, target)
    for level, cov in res["coverage"].items():
        assert abs(cov - level) < 0.015
    # under-dispersed std: coverage far below nominal
    assert calibration(np.zeros_like(std), 0.5 * std, target)["coverage"][0.95] < 0.75
    assert res["spearman_std_error"] > 0.3


def test_ood_warning_carries_uncertainty():
    sur = _sur(0.2)
    with pytest.warns(OutOfRangeWarning, match=r"\|J\| span.*MC-dropout std") as rec:
        pred = mc_dropout_predict(sur, [random_system(3, j_range=(25.0, 35.0), seed=1), SYSTEMS[0]], passes=4)
    assert pred.out_of_range == [0] and len(rec) == 1
    with pytest.warns(OutOfRangeWarning, match="n_spins=2"):
        sur.predict([random_system(2, seed=0)])
    with pytest.raises(ValueError, match="passes"):
        mc_dropout_predict(sur, SYSTEMS, passes=1)
