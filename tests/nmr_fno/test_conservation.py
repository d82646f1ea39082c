"""Density-matrix invariants per classical method; the naive integrator drifts."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.nmr_fno.conservation import CONSERVATION_METHODS, invariants, propagate_states
from labkit.nmr_fno.task import task_system


@pytest.fixture(scope="module")
def case():
    s = task_system(4, "random", seed=3)
    t = np.arange(40) * 2.5e-3
    return s, t, propagate_states(s, "dense-expm", t)


@pytest.mark.parametrize("method", [m for m in CONSERVATION_METHODS if m != "euler"])
def test_every_classical_method_propagates_the_same_state_and_conserves(case, method):
    s, t, ref = case
    assert np.abs(propagate_states(s, method, t) - ref).max() < 1e-8
    inv = invariants(s, method, t)
    assert inv["trace"] < 1e-10 and inv["purity"] < 1e-10 and inv["hermiticity"] < 1e-10 and inv["energy"] < 1e-7


def test_explicit_euler_keeps_linear_invariants_but_its_purity_drifts(case):
    s, t, _ = case
    inv = invariants(s, "euler", t)
    assert inv["trace"] < 1e-12 and inv["energy"] < 1e-9 and inv["hermiticity"] < 1e-12
    assert inv["purity"] > 1e-4
