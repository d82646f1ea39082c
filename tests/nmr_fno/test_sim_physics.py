"""Sector structure, conservation laws and peer libraries (nmrsim, QuTiP)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from labkit.nmr_fno import SpinSystem, random_system, simulate
from labkit.nmr_fno.dense import full_hamiltonian, spin_operator
from labkit.nmr_fno.exact import fid_transitions
from labkit.nmr_fno.propagators import chebyshev_order, propagate_block
from labkit.nmr_fno.sectors import sector_hamiltonian, sector_sizes, sector_states


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # small matrices on a shared 2-core machine: multi-threaded BLAS only spins (10x the CPU time)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def _to_package_index(n: int, states: np.ndarray) -> np.ndarray:
    # dense.py puts spin 0 in the most significant kron factor, and |up> is index 0 of each factor
    idx = np.zeros_like(states)
    for i in range(n):
        up = (states >> i) & 1
        idx |= (1 - up) << (n - 1 - i)
    return idx


@pytest.mark.parametrize("seed", [0, 1])
def test_sector_blocks_reassemble_full_hamiltonian(seed: int) -> None:
    system = random_system(6, "random", seed=seed)
    n = system.n_spins
    full = full_hamiltonian(system)
    rebuilt = np.zeros_like(full)
    for k in range(n + 1):
        idx = _to_package_index(n, sector_states(n, k))
        rebuilt[np.ix_(idx, idx)] = sector_hamiltonian(system, k).toarray()
    assert sum(sector_sizes(n)) == 2**n
    assert np.abs(full - rebuilt).max() < 1e-12  # so H has no elements between sectors either
    # the spectrum of the blocks is the spectrum of H
    e_blocks = np.sort(np.concatenate([np.linalg.eigvalsh(sector_hamiltonian(system, k).toarray()) for k in range(n + 1)]))
    np.testing.assert_allclose(e_blocks, np.linalg.eigvalsh(full), atol=1e-10)


def test_sector_method_equals_full_space_method() -> None:
    system = random_system(7, "ring", seed=2)
    a = simulate(system, method="exact")
    b = simulate(system, method="exact-full")
    for key in ("Mx", "My", "I1z"):
        assert np.abs(a[key] - b[key]).max() < 1e-10


def test_conservation_of_trace_and_energy() -> None:
    """rho0 = 1/2^N + 0.3 I1z + 0.2 (I1z I2z): Tr(rho) and <H> constant along exact and propagated trajectories."""
    system = random_system(5, "chain", seed=7)
    n = system.n_spins
    h = full_hamiltonian(system)
    iz = [spin_operator(n, i, "z") for i in range(n)]
    rho0 = np.eye(2**n) / 2**n + 0.3 * iz[0] + 0.2 * iz[0] @ iz[1] + 0.1 * spin_operator(n, 2, "x")
    e0 = np.trace(rho0 @ h).real
    w, v = np.linalg.eigh(h)
    for t in np.linspace(0, 0.2, 9):
        u = (v * np.exp(-2j * np.pi * w * t)) @ v.conj().T
        rho = u @ rho0 @ u.conj().T
        assert abs(np.trace(rho) - 1.0) < 1e-10
        assert abs(np.trace(rho @ h).real - e0) < 1e-10
    # the sector propagators: every sector block of a diagonal rho0 keeps its trace and energy
    times = np.linspace(0, 0.05, 6)
    for k in range(n + 1):
        hk = sector_hamiltonian(system, k)
        d = np.diag(np.random.default_rng(k).uniform(size=hk.shape[0]))
        for method in ("krylov", "chebyshev"):
            for y in propagate_block(hk, d, times, method, tol=1e-14):
                u = y / np.diag(d)[None, :]  # Y = U(t) d, so U(t) = Y d^-1 and rho_k(t) = U d U^dagger
                rho_k = u @ d @ u.conj().T
                assert abs(np.trace(rho_k) - np.trace(d)) < 1e-10
                assert abs(np.trace(rho_k @ hk.toarray()).real - np.trace(d @ hk.toarray())) < 1e-10


def _merge(freqs: np.ndarray, ints: np.ndarray, digits: int = 6) -> dict[float, float]:
    out: dict[float, float] = {}
    for f, a in zip(np.round(freqs, digits), ints, strict=True):
        out[float(f)] = out.get(float(f), 0.0) + float(a)
    return out


CASES = [
    SpinSystem([10.0, 20.0], [[0, 10.0], [10.0, 0]]),
    SpinSystem([430.0, 265.0, 300.0], [[0, 7, 15], [7, 0, 1.5], [15, 1.5, 0]]),
    random_system(4, "random", seed=9, offset_range=(100.0, 400.0)),  # nmrsim keeps positive frequencies only
]


@pytest.mark.parametrize("system", CASES, ids=["AB", "ABC-rioux", "4-spin"])
def test_lines_and_fft_spectra_match_nmrsim(system: SpinSystem) -> None:
    qm = pytest.importorskip("nmrsim.qm")
    peaks = qm.qm_spinsystem(list(system.offsets_hz), system.couplings_hz, cache=False, sparse=False)
    pf, pa = np.array([p[0] for p in peaks]), np.array([p[1] for p in peaks])
    f, a = fid_transitions(system)
    keep = a > 1e-3 * a.max()  # nmrsim drops very weak lines
    ours = _merge(f[keep], a[keep] / a[keep].sum())
    theirs = _merge(pf, pa / pa.sum())
    big_ours = {k: v for k, v in ours.items() if v > 1e-3}
    big_theirs = {k: v for k, v in theirs.items() if v > 1e-3}
    assert sorted(big_ours) == pytest.approx(sorted(big_theirs), abs=1e-6)
    for k in big_ours:
        assert big_ours[k] == pytest.approx(big_theirs[k], abs=2e-3)
    # FFT spectrum of our simulated FID vs the FFT of the FID synthesised from nmrsim's peak list
    t = np.arange(2048) / 2048.0  # 1 Hz resolution, +-1024 Hz band
    out = simulate(system, t)
    fid_theirs = sum(w * np.exp(2j * np.pi * fr * t) for fr, w in zip(pf, pa / pa.sum(), strict=True))
    spec_ours = np.fft.fft(out["Mx"] + 1j * out["My"])
    spec_theirs = np.fft.fft(fid_theirs)
    assert np.abs(spec_ours - spec_theirs).max() / np.abs(spec_theirs).max() < 5e-3


def test_fid_matches_qutip_mesolve() -> None:
    qutip = pytest.importorskip("qutip")
    system = SpinSystem([430.0, 265.0, 300.0], [[0, 7, 15], [7, 0, 1.5], [15, 1.5, 0]])
    n = system.n_spins
    ops = {a: [qutip.tensor([getattr(qutip, f"sigma{a}")() / 2 if k == i else qutip.qeye(2) for k in range(n)])
               for i in range(n)] for a in "xyz"}
    h = sum(2 * np.pi * system.offsets_hz[i] * ops["z"][i] for i in range(n))
    for i in range(n):
        for j in range(i + 1, n):
            h += 2 * np.pi * system.couplings_hz[i, j] * sum(ops[a][i] * ops[a][j] for a in "xyz")
    fx, fy = sum(ops["x"]), sum(ops["y"])
    t = np.linspace(0, 0.05, 101)
    res = qutip.mesolve(h, fx, t, e_ops=[fx, fy], options={"atol": 1e-12, "rtol": 1e-10})
    norm = (fx * fx).tr()
    out = simulate(system, t)
    assert np.abs(np.real(res.expect[0]) / norm - out["Mx"]).max() < 1e-6
    assert np.abs(np.real(res.expect[1]) / norm - out["My"]).max() < 1e-6


def test_chebyshev_order_bounds_the_series_error() -> None:
    h = np.diag(np.linspace(-1, 1, 9))
    for z in (0.5, 5.0, 40.0):
        k = chebyshev_order(z, 1e-12)
        assert k > z / 2
        y = next(iter(propagate_block(sector_like(h), np.eye(9, dtype=complex), np.array([z / (2 * np.pi)]), "chebyshev", tol=1e-12)))
        assert np.abs(y - scipy.linalg.expm(-1j * z * h)).max() < 1e-11


def sector_like(h: np.ndarray):
    import scipy.sparse as sp

    return sp.csr_matrix(h)
