"""Joint offset/J fits on the task grid: the Cramer-Rao bound, both routes, the summary."""

from __future__ import annotations

import numpy as np

from labkit.nmr_fno.fid_inverse import (
    cramer_rao_j,
    exact_batch_forward,
    fit_fid,
    noisy_fid,
    starts,
    summarise,
    surrogate_batch_forward,
)
from labkit.nmr_fno.fid_surrogate import FIDSurrogate
from labkit.nmr_fno.systems import SpinSystem


def test_cramer_rao_bound_scales_with_noise_and_matches_a_monte_carlo_of_the_linearised_fit():
    truth = SpinSystem([-40.0, 25.0, 60.0], [[0, 12.0, 0], [12.0, 0, 7.0], [0, 7.0, 0]])
    b20, b50 = cramer_rao_j(truth, 20.0), cramer_rao_j(truth, 50.0)
    assert b20.shape == (2,) and np.allclose(b20 / b50, 2.5)
    # exact fits started at the truth: their scatter over noise draws is the bound (to sampling error)
    errs = []
    for seed in range(12):
        fid = noisy_fid(truth, 20.0, seed=seed)
        x0 = np.r_[truth.offsets_hz, 12.0, 7.0][None]
        r = fit_fid(exact_batch_forward(), truth, fid, x0)
        errs.append(r.couplings - [12.0, 7.0])
    rmse = np.sqrt(np.mean(np.square(errs), axis=0))
    assert np.all(rmse < 2.0 * b20) and np.all(rmse > 0.4 * b20)


def test_both_routes_reach_the_same_exact_minimum():
    truth = SpinSystem([-30.0, 35.0, 80.0], [[0, 15.0, 0], [15.0, 0, 9.0], [0, 9.0, 0]])
    fid = noisy_fid(truth, 50.0, seed=3)
    x0 = starts(truth, 2, seed=3)
    a = fit_fid(exact_batch_forward(), truth, fid, x0)
    b = fit_fid(surrogate_batch_forward(FIDSurrogate.pretrained()), truth, fid, x0, refine=exact_batch_forward())
    assert np.max(np.abs(a.couplings - [15.0, 9.0])) < 0.5
    assert np.allclose(a.couplings, b.couplings, atol=1e-3) and abs(a.cost - b.cost) < 1e-6 * max(a.cost, 1.0)


def test_summary_counts_success_and_uses_the_bound_of_the_same_fits():
    trials = [{"n_spins": 4, "snr": 20.0, "trial": k, "crb": [0.1, 0.1],
               "exact": {"err": [0.1, -0.1] if k else [3.0, 0.0], "seconds": 2.0, "evals": 10},
               "surrogate+exact": {"err": [0.1, -0.1], "seconds": 1.0, "evals": 20}} for k in range(4)]
    rows = {r["route"]: r for r in summarise(trials)}
    assert rows["exact"]["success_rate"] == 0.75 and rows["surrogate+exact"]["success_rate"] == 1.0
    assert np.isclose(rows["exact"]["j_rmse_hz"], 0.1) and np.isclose(rows["exact"]["rmse_over_crb"], 1.0)


def _two_basin_forward(fid: np.ndarray, right: float, wrong: float, right_offset: float, wrong_offset: float):
    """A forward model whose cost in J has a minimum at ``right`` and one at ``wrong`` (depths set by the offsets)."""

    def fwd(systems: list[SpinSystem]) -> np.ndarray:
        out = []
        for s in systems:
            j = s.couplings_hz[0, 1]
            out.append(fid + 0.05 * min((j - right) ** 2 + right_offset, (j - wrong) ** 2 + wrong_offset))
        return np.stack(out)

    return fwd


def test_surrogate_minima_are_ranked_by_the_refining_model_not_by_the_surrogate():
    truth = SpinSystem([-30.0, 35.0], [[0, 15.0], [15.0, 0]])
    fid = noisy_fid(truth, 50.0, seed=1)
    exact_like = _two_basin_forward(fid, 15.0, 25.0, 0.0, 0.3)  # global minimum at J = 15, a local one at 25
    misleading = _two_basin_forward(fid, 15.0, 25.0, 0.3, 0.0)  # the surrogate prefers the wrong basin
    x0 = np.array([[-30.0, 35.0, 14.0], [-30.0, 35.0, 24.0]])
    r = fit_fid(misleading, truth, fid, x0, refine=exact_like)
    assert abs(r.couplings[0] - 15.0) < 0.05  # ranking by the surrogate's cost would refine J = 25 only


def test_summary_intervals():
    trials = [{"n_spins": 4, "snr": 20.0, "trial": k, "crb": [0.1, 0.2],
               "exact": {"err": [0.1 * (-1) ** k, 0.2], "seconds": 2.0, "evals": 10},
               "surrogate+exact": {"err": [0.1, 2.0 if k == 0 else 0.2], "seconds": 1.0, "evals": 20}} for k in range(4)]
    rows = {r["route"]: r for r in summarise(trials)}
    ex, su = rows["exact"], rows["surrogate+exact"]
    assert np.isclose(ex["rmse_over_crb"], 1.0) and np.isclose(ex["z_rms"], 1.0)
    assert ex["rmse_over_crb_lo"] == ex["rmse_over_crb_hi"] == ex["rmse_over_crb"]  # identical trials: no spread
    assert su["success_rate"] == 0.75 and np.isclose(su["success_lo"], 0.3006, atol=1e-3) and np.isclose(su["success_hi"], 0.9544, atol=1e-3)
    assert ex["success_lo"] < 1.0 == ex["success_hi"]
