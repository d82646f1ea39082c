"""Every simulation method against an independent brute force (dense kron H + scipy expm per time point)."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
import scipy.linalg

from labkit.nmr_fno import SpinSystem, random_system, simulate


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # small matrices on a shared 2-core machine: multi-threaded BLAS only spins (10x the CPU time)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield

SX = np.array([[0, 1], [1, 0]], dtype=complex) / 2
SY = np.array([[0, -1j], [1j, 0]], dtype=complex) / 2
SZ = np.array([[1, 0], [0, -1]], dtype=complex) / 2


def op(n: int, i: int, s: np.ndarray) -> np.ndarray:
    # little-endian order here (spin 0 last factor), unlike the package's dense module
    return reduce(np.kron, [s if k == i else np.eye(2) for k in reversed(range(n))])


def brute_force(system: SpinSystem, times: np.ndarray) -> dict[str, np.ndarray]:
    n = system.n_spins
    x = [op(n, i, SX) for i in range(n)]
    y = [op(n, i, SY) for i in range(n)]
    z = [op(n, i, SZ) for i in range(n)]
    h = sum(system.offsets_hz[i] * z[i] for i in range(n))
    for i in range(n):
        for j in range(i + 1, n):
            h = h + system.couplings_hz[i, j] * (x[i] @ x[j] + y[i] @ y[j] + z[i] @ z[j])
    fx, fy = sum(x), sum(y)
    out = {"Mx": [], "My": [], "I1z": []}
    for t in times:
        u = scipy.linalg.expm(-2j * np.pi * h * t)
        rho = u @ fx @ u.conj().T
        out["Mx"].append(np.trace(rho @ fx).real / np.trace(fx @ fx).real)
        out["My"].append(np.trace(rho @ fy).real / np.trace(fx @ fx).real)
        rz = u @ z[0] @ u.conj().T
        out["I1z"].append(np.trace(rz @ z[0]).real / np.trace(z[0] @ z[0]).real)
    return {k: np.array(v) for k, v in out.items()}


CASES = [
    SpinSystem([10.0, 20.0], [[0, 10.0], [10.0, 0]]),  # AB, nmrsim test system
    SpinSystem([430.0, 265.0, 300.0], [[0, 7, 15], [7, 0, 1.5], [15, 1.5, 0]]),  # "rioux" ABC
    random_system(4, "ring", seed=3),
    random_system(5, "star", seed=4, j_range=(-15.0, 25.0)),
    random_system(6, "random", seed=5),
]
TIMES = np.concatenate([[0.0], np.sort(np.random.default_rng(0).uniform(0, 0.05, 12))])  # non-uniform too
TOL = {"exact": 1e-8, "exact-full": 1e-8, "torch": 1e-8, "krylov": 1e-6, "chebyshev": 1e-6}


@pytest.fixture(scope="module")
def references() -> list[dict[str, np.ndarray]]:
    return [brute_force(s, TIMES) for s in CASES]


@pytest.mark.parametrize("method", list(TOL))
def test_methods_match_brute_force(method: str, references: list[dict[str, np.ndarray]]) -> None:
    for system, ref in zip(CASES, references, strict=True):
        out = simulate(system, TIMES, method)
        for key in ("Mx", "My", "I1z"):
            err = np.abs(out[key] - ref[key]).max()
            assert err < TOL[method], (method, system.n_spins, key, err)


def test_dense_expm_reference_matches_brute_force(references: list[dict[str, np.ndarray]]) -> None:
    for system, ref in list(zip(CASES, references, strict=True))[:3]:
        out = simulate(system, TIMES, "dense-expm")
        for key in ("Mx", "My", "I1z"):
            assert np.abs(out[key] - ref[key]).max() < 1e-10


def test_initial_values_and_default_grid() -> None:
    out = simulate(random_system(7, "chain", seed=1))
    assert out["Mx"].shape == (300,) and out["t"][1] == pytest.approx(1e-3)
    assert out["Mx"][0] == pytest.approx(1.0, abs=1e-12)
    assert out["My"][0] == pytest.approx(0.0, abs=1e-12)
    assert out["I1z"][0] == pytest.approx(1.0, abs=1e-12)


def test_uncoupled_spin_closed_form() -> None:
    t = np.linspace(0, 0.1, 50)
    out = simulate(SpinSystem([37.0], None), t, "exact")
    np.testing.assert_allclose(out["Mx"], np.cos(2 * np.pi * 37.0 * t), atol=1e-12)
    np.testing.assert_allclose(out["My"], np.sin(2 * np.pi * 37.0 * t), atol=1e-12)
    np.testing.assert_allclose(out["I1z"], 1.0, atol=1e-12)


def test_ab_quartet_closed_form_fid() -> None:
    """AB system: lines at c +- J/2 +- D/2 (D = sqrt(dnu^2 + J^2)), intensities (1 +- J/D)/4 (inner > outer)."""
    nu1, nu2, j = 10.0, 20.0, 10.0
    c, d = (nu1 + nu2) / 2, np.hypot(nu2 - nu1, j)
    lines = [(c + j / 2 + d / 2, 1 - j / d), (c + j / 2 - d / 2, 1 + j / d),
             (c - j / 2 + d / 2, 1 + j / d), (c - j / 2 - d / 2, 1 - j / d)]
    t = np.linspace(0, 0.3, 301)
    fid = sum(a / 4 * np.exp(2j * np.pi * f * t) for f, a in lines)
    out = simulate(SpinSystem([nu1, nu2], [[0, j], [j, 0]]), t)
    assert np.abs(out["Mx"] + 1j * out["My"] - fid).max() < 1e-10
    # I1z for AB: 1 - (J/D)^2 sin^2(pi D t) (polarisation transfer between the two spins)
    np.testing.assert_allclose(out["I1z"], 1 - (j / d) ** 2 * np.sin(np.pi * d * t) ** 2, atol=1e-10)


def test_krylov_chebyshev_at_n8_vs_exact() -> None:
    system = random_system(8, "random", seed=11)
    t = np.arange(40) * 1e-3
    ref = simulate(system, t, "exact")
    for method in ("krylov", "chebyshev"):
        out = simulate(system, t, method)
        for key in ("Mx", "My", "I1z"):
            assert np.abs(out[key] - ref[key]).max() < 1e-6, (method, key)
