"""The fixed FID task, the first-order formula, and the line model's structure (no trained weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.nmr_fno.exact import simulate_exact
from labkit.nmr_fno.line_model import LineNet, LineNetConfig, systems_to_tensors
from labkit.nmr_fno.systems import SpinSystem
from labkit.nmr_fno.task import TASK_TIMES, broaden, first_order_fid, relative_l2, task_system, task_systems


def _edges(s: SpinSystem) -> set[tuple[int, int]]:
    i, j = np.nonzero(np.triu(s.couplings_hz, 1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def test_grid_and_systems_follow_the_task():
    assert TASK_TIMES.size == 512 and TASK_TIMES[0] == 0.0 and TASK_TIMES[-1] < 1.0
    assert np.allclose(np.diff(TASK_TIMES), 1 / 512)
    chain = {(i, i + 1) for i in range(7)}
    for seed in range(20):
        c, r, g = (task_system(8, topo, seed=seed) for topo in ("chain", "ring", "random"))
        assert _edges(c) == chain and _edges(r) == chain | {(0, 7)} and chain <= _edges(g)
        for s in (c, r, g):
            j = s.couplings_hz[np.triu_indices(8, 1)]
            assert np.all((j == 0) | ((j >= 5) & (j <= 20))) and np.all(np.abs(s.offsets_hz) <= 100)
    extra = [len(_edges(task_system(10, "random", seed=s))) - 9 for s in range(200)]
    assert abs(np.mean(extra) / 36 - 0.35) < 0.03  # the 36 non-chain pairs of N = 10, each with p = 0.35
    with pytest.raises(ValueError, match="topology"):
        task_system(4, "star")


def test_first_order_formula_is_exact_without_couplings_and_close_when_weak():
    t = TASK_TIMES
    free = SpinSystem([30.0, -70.0, 5.0], None)
    e = simulate_exact(free, t, ("Mx", "My"))
    fo = first_order_fid([free], t)[0]
    assert np.max(np.abs(fo - (e["Mx"] + 1j * e["My"]))) < 1e-12
    weak = SpinSystem([90.0, -90.0], [[0, 2.0], [2.0, 0]])  # J / delta nu = 0.011
    e = simulate_exact(weak, t, ("Mx", "My"))
    fo = broaden(first_order_fid([weak], t), t)
    assert relative_l2(fo.real, fo.imag, broaden(e["Mx"], t), broaden(e["My"], t))[0] < 0.05


def test_line_model_starts_at_the_first_order_formula_on_any_grid():
    net = LineNet(LineNetConfig(hidden=16, head_width=16, slots=3)).double()
    systems = task_systems(7, 6, seed=4)
    nu, jm = systems_to_tensors(systems)
    for t in (TASK_TIMES, np.sort(np.random.default_rng(0).uniform(0, 1, 100))):  # uniform fast path, general path
        re, im = net(nu, jm, torch.tensor(t))
        fo = first_order_fid(systems, t)
        assert np.max(np.abs(re.detach().numpy() - fo.real)) < 1e-12
        assert np.max(np.abs(im.detach().numpy() - fo.imag)) < 1e-12


def test_line_model_is_invariant_to_a_common_offset_shift_up_to_the_carrier():
    torch.manual_seed(0)
    net = LineNet(LineNetConfig(hidden=16, head_width=16, slots=3)).double()
    torch.nn.init.normal_(net.head[-1].weight, std=0.1)
    s = task_system(6, "random", seed=2)
    shifted = SpinSystem(s.offsets_hz + 7.0, s.couplings_hz)
    t = torch.tensor(TASK_TIMES)
    a = torch.complex(*net(*systems_to_tensors([s]), t))
    b = torch.complex(*net(*systems_to_tensors([shifted]), t))
    assert torch.allclose(b, a * torch.exp(2j * torch.pi * 7.0 * t), atol=1e-10)
