"""Physics penalties: zero on exact trajectories, positive where a prediction breaks them; combine_losses wiring."""

import numpy as np
import pytest
import scipy.linalg
import torch

from labkit.nmr_fno.physics_loss import physics_informed_loss, physics_penalties
from labkit.nmr_fno.surrogate import surrogate_times
from labkit.nmr_fno.systems import random_system


def _dense_trajectories(system, times):
    """Independent full-space reference: (Mx, My) from rho0 = Fx / Tr(Fx^2), I1z from rho0 = I1z."""
    n = system.n_spins
    sx = np.array([[0, 0.5], [0.5, 0]])
    sy = np.array([[0, -0.5j], [0.5j, 0]])
    sz = np.diag([0.5, -0.5])

    def op(single, i):
        out = np.array([[1.0]])
        for k in range(n):
            out = np.kron(out, single if k == i else np.eye(2))
        return out

    ix, iy, iz = ([op(s, i) for i in range(n)] for s in (sx, sy, sz))
    h = sum(system.offsets_hz[i] * iz[i] for i in range(n))
    for i in range(n):
        for k in range(i + 1, n):
            h = h + system.couplings_hz[i, k] * (ix[i] @ ix[k] + iy[i] @ iy[k] + iz[i] @ iz[k])
    fx, fy = sum(ix), sum(iy)
    out = np.zeros((3, times.size))
    for a, t in enumerate(times):
        u = scipy.linalg.expm(-2j * np.pi * h * t)
        rho = u @ fx @ u.conj().T
        out[0, a] = np.trace(fx @ rho).real / np.trace(fx @ fx).real
        out[1, a] = np.trace(fy @ rho).real / np.trace(fx @ fx).real
        rz = u @ iz[0] @ u.conj().T
        out[2, a] = np.trace(iz[0] @ rz).real / np.trace(iz[0] @ iz[0]).real
    return out


@pytest.fixture(scope="module")
def exact_batch():
    times = surrogate_times(60)
    systems = [random_system(3, topo, seed=s) for s, topo in enumerate(["chain", "ring", "star", "random"])]
    return torch.tensor(np.stack([_dense_trajectories(s, times) for s in systems]))


def test_penalties_vanish_on_exact_trajectories(exact_batch):
    pen = physics_penalties(exact_batch)
    assert float(pen["initial"]) < 1e-24
    assert float(pen["bound"]) < 1e-24  # bound is tight (|M(0)| = 1) but never exceeded


def test_penalties_vanish_on_part1_simulator():
    sim = pytest.importorskip("labkit.nmr_fno.simulate", reason="part 1 simulator not present yet")
    times = surrogate_times(100)
    ys = []
    for seed in range(3):
        r = sim.simulate(random_system(4, "chain", seed=seed), times=times)
        ys.append(np.stack([r["Mx"], r["My"], r["I1z"]]))
    pen = physics_penalties(torch.tensor(np.stack(ys)))
    assert float(pen["initial"]) < 1e-20 and float(pen["bound"]) < 1e-20


def test_penalties_detect_violations(exact_batch):
    bad = exact_batch.clone()
    bad[:, 1, 0] += 0.1  # My(0) != 0
    assert float(physics_penalties(bad)["initial"]) == pytest.approx(0.01, rel=1e-9)
    bad = exact_batch.clone()
    bad[:, 0, 5] = 1.2
    bad[:, 1, 5] = 0.0  # |M| = 1.2 at one of 60 points: hinge 0.44^2 / 60
    assert float(physics_penalties(bad)["bound"]) == pytest.approx(0.44**2 / 60, rel=1e-9)


def test_loss_combines_with_default_weight(exact_batch):
    pred = exact_batch.clone()
    pred[:, 0, 0] = 0.0  # initial penalty 1 per sample
    res = physics_informed_loss(pred, exact_batch)
    mse = float(torch.mean((pred - exact_batch) ** 2))
    assert float(res.components["mse"]) == pytest.approx(mse)
    assert float(res.components["initial"]) == pytest.approx(1.0)
    assert float(res.total) == pytest.approx(mse + 0.01 * 1.0 + 0.01 * float(res.components["bound"]))
    assert float(physics_informed_loss(pred, exact_batch, weight=0.0).total) == pytest.approx(mse)


def test_loss_bad_input():
    with pytest.raises(ValueError, match="channels"):
        physics_penalties(torch.zeros(2, 2, 5))
    with pytest.raises(ValueError, match="target"):
        physics_informed_loss(torch.zeros(2, 3, 5), torch.zeros(2, 3, 6))
    with pytest.raises(ValueError, match="weight"):
        physics_informed_loss(torch.zeros(2, 3, 5), torch.zeros(2, 3, 5), weight=-1)
