"""Phasor tables on uniform grids (the block method's phase tables, the line model's synthesis)."""

from __future__ import annotations

import numpy as np

from labkit.nmr_fno.grid import phasor_powers, phasors, uniform_step
from labkit.nmr_fno.simulate import simulate
from labkit.nmr_fno.task import TASK_TIMES, task_systems


def test_phasors_equal_direct_exponentials_on_long_grids():
    f = np.random.default_rng(0).uniform(-400.0, 400.0, 300)
    for nt in (1, 31, 300, 512, 1000):
        z = phasors(f, 1 / 512, nt)
        ref = np.exp(2j * np.pi * np.outer(np.arange(nt) / 512, f))
        assert z.shape == (nt, f.size) and np.abs(z - ref).max() < 1e-11  # the direct exp itself errs by ~|phase| ulp
    table, top = phasor_powers(np.exp(0.3j * np.arange(1, 4)), 10)
    assert np.allclose(table, np.exp(0.3j * np.outer(np.arange(10), np.arange(1, 4))), atol=1e-14)
    assert np.allclose(top, np.exp(0.3j * 16 * np.arange(1, 4)), atol=1e-14)  # z^16, the power of two >= 10


def test_uniform_step_detects_only_grids_from_zero():
    assert uniform_step(TASK_TIMES) == 1 / 512
    assert uniform_step(TASK_TIMES + 0.1) is None and uniform_step(np.array([0.0, 1.0, 2.5])) is None
    assert uniform_step(np.array([0.0])) is None


def test_block_method_on_the_task_grid_equals_the_full_space_method():
    for s in task_systems(5, 2, seed=3) + task_systems(6, 1, seed=4, topologies=("random",)):
        fast, full = simulate(s, TASK_TIMES, "exact"), simulate(s, TASK_TIMES, "exact-full")
        for key in ("Mx", "My", "I1z"):
            assert np.abs(fast[key] - full[key]).max() < 1e-10
