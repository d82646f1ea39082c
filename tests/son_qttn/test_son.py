"""SON stencils against independently built dense matrices; energy descent; RLC decay and equipartition."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from labkit.son_qttn import RLCBank, SONParams, make_coupling, precision_scope, simulate_rlc, simulate_son, son_energy


@pytest.fixture(autouse=True)
def _x64():
    with precision_scope("float64"):
        yield


def dense_k(topology, shape, s=0.7, sigma=1.0):
    """Coupling matrix built from index arithmetic, independent of the stencil code."""
    if topology == "ring":
        n = shape[0]
        k = np.zeros((n, n))
        for i in range(n):
            k[i, (i + 1) % n] += s
            k[i, (i - 1) % n] += s
        return k
    h, w = shape
    k = np.zeros((h * w, h * w))
    for r in range(h):
        for c in range(w):
            for r2 in range(h):
                for c2 in range(w):
                    if topology == "lattice4":
                        if abs(r - r2) + abs(c - c2) == 1:
                            k[r * w + c, r2 * w + c2] = s
                    elif topology == "torus":
                        dr, dc = min(abs(r - r2), h - abs(r - r2)), min(abs(c - c2), w - abs(c - c2))
                        if dr + dc == 1:
                            k[r * w + c, r2 * w + c2] = s
                    else:  # gaussian on the torus, minimum-image distance, radius ceil(3 sigma)
                        dr, dc = min(abs(r - r2), h - abs(r - r2)), min(abs(c - c2), w - abs(c - c2))
                        d2 = dr * dr + dc * dc
                        if 0 < d2 <= math.ceil(3 * sigma) ** 2:
                            k[r * w + c, r2 * w + c2] = math.exp(-d2 / (2 * sigma**2))
    if topology == "gaussian":
        k *= s / k[0].sum()
    return k


CASES = [("ring", (9,)), ("lattice4", (5, 6)), ("torus", (5, 6)), ("gaussian", (8, 9))]


@pytest.mark.parametrize("topology, shape", CASES)
@pytest.mark.parametrize("update", ["linear", "tanh"])
def test_stencil_equals_dense_update(topology, shape, update):
    k = make_coupling(topology, shape, strength=0.7, sigma=1.0)
    kd = dense_k(topology, shape)
    rng = np.random.default_rng(0)
    v0 = rng.standard_normal(shape)
    omega = rng.uniform(0.2, 1.0, shape)
    p = SONParams(dt=0.02, update=update)
    v, _, _ = simulate_son(v0, k, p, 25, omega=omega)
    x, om = v0.ravel(), omega.ravel()
    lap = kd - np.diag(kd.sum(1))
    for _ in range(25):
        x = x + 0.02 * ((lap @ x - om**2 * x) if update == "linear" else (-om * x + kd @ np.tanh(x)))
    np.testing.assert_allclose(np.asarray(v).ravel(), x, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("topology, shape", CASES)
def test_bcoo_matches_dense(topology, shape):
    k = make_coupling(topology, shape, strength=0.7)
    np.testing.assert_allclose(np.asarray(k.to_bcoo().todense()), dense_k(topology, shape), atol=1e-14)


def test_a_stencil_without_entries_is_the_zero_coupling():
    from labkit.son_qttn.topology import Coupling

    k = Coupling(shape=(3, 4), offsets=(), weights=(), periodic=True)
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    assert np.asarray(k.matvec(x)).shape == (2, 3, 4)
    assert not np.asarray(k.matvec(x)).any() and not np.asarray(k.laplacian(x)).any()


def test_linear_son_energy_decreases_without_noise():
    k = make_coupling("torus", (16, 16), strength=0.5)
    v0 = np.random.default_rng(1).standard_normal((16, 16))
    _, traj, _ = simulate_son(v0, k, SONParams(dt=0.05, omega=0.3), 200, record_every=10)
    e = np.asarray(son_energy(traj, k, 0.3))
    assert np.all(np.diff(e) < 0)


def test_toroidal_8k_and_batches():
    k = make_coupling("toroidal_8k")
    assert k.n == 8192 and k.shape == (64, 128)
    v0 = jnp.ones((2, 64, 128))
    v, _, amp = simulate_son(v0, k, SONParams(dt=0.1, omega=0.5, temperature=0.01), 10, key=jax.random.PRNGKey(0))
    assert v.shape == (2, 64, 128) and float(amp) > 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(topology="hexagonal", shape=(4, 4)), "topology"),
    (dict(topology="ring", shape=(4, 4)), "shape"),
    (dict(topology="toroidal_8k", shape=(10, 10)), "shape"),
])
def test_bad_topology_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_coupling(**kwargs)


def test_rlc_energy_decays_at_analytic_rate():
    # underdamped, uncoupled, no noise: energy envelope ~ exp(-R t / L); sample at whole periods
    r, ell, c = np.array([0.1, 0.2, 0.4]), np.array([1.0, 2.0, 1.0]), np.array([1.0, 0.5, 2.0])
    bank = RLCBank(R=r, L=ell, C=c)
    dt, every, n = 1e-3, 100, 60_000
    q, i = simulate_rlc(bank, np.ones(3), np.zeros(3), dt, n, record_every=every)
    e = np.asarray(bank.energy(q, i))
    t = dt * every * (np.arange(len(e)) + 1)
    for k in range(3):
        slope = np.polyfit(t, np.log(e[:, k]), 1)[0]
        assert slope == pytest.approx(-r[k] / ell[k], rel=0.02)


def test_rlc_equipartition_with_thermal_noise():
    n, kt = 20_000, 0.5
    bank = RLCBank(R=np.full(n, 1.0), L=1.0, C=2.0, kT=kt)
    q, i = simulate_rlc(bank, np.zeros(n), np.zeros(n), 0.01, 2000, record_every=2000, key=jax.random.PRNGKey(1))
    assert float(np.mean(np.asarray(q[-1]) ** 2)) == pytest.approx(2.0 * kt, rel=0.05)  # <q^2> = C kT
    assert float(np.mean(np.asarray(i[-1]) ** 2)) == pytest.approx(kt / 1.0, rel=0.05)  # <I^2> = kT / L


def test_rlc_bad_component_named():
    with pytest.raises(ValueError, match="C"):
        simulate_rlc(RLCBank(R=0.1, L=1.0, C=-1.0), np.ones(2), np.zeros(2), 0.01, 10)
