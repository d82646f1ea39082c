"""Full 2^N Hilbert-space methods: the per-step dense matrix exponential (the original's slow reference)
and a full-space eigendecomposition (what nmrsim does), both built from Kronecker products.

These ignore the Fz sectors on purpose: they are the brute-force references the sector methods
are checked and timed against.

Example:
    >>> from labkit.nmr_fno.systems import SpinSystem
    >>> h = full_hamiltonian(SpinSystem([10.0, 20.0], [[0, 10.0], [10.0, 0]]))
    >>> h.shape, bool(np.allclose(h, h.conj().T))
    ((4, 4), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import numpy as np
import scipy.linalg

from .grid import check_observables, check_times
from .systems import SpinSystem

__all__ = ["full_hamiltonian", "simulate_dense_expm", "simulate_exact_full", "spin_operator"]

_PAULI = {
    "x": np.array([[0, 0.5], [0.5, 0]], dtype=complex),
    "y": np.array([[0, -0.5j], [0.5j, 0]], dtype=complex),
    "z": np.array([[0.5, 0], [0, -0.5]], dtype=complex),
    "+": np.array([[0, 1], [0, 0]], dtype=complex),
    "-": np.array([[0, 0], [1, 0]], dtype=complex),
}


def spin_operator(n_spins: int, spin: int, axis: str) -> np.ndarray:
    """I_{spin,axis} on the full 2^N space; spin 0 is the most significant Kronecker factor."""
    eye = np.eye(2, dtype=complex)
    return reduce(np.kron, [_PAULI[axis] if i == spin else eye for i in range(n_spins)])


def _pair_operator(n_spins: int, i: int, j: int, axis: str) -> np.ndarray:
    # I_i^a I_j^a as one Kronecker product (no 2^N x 2^N matrix product)
    eye = np.eye(2, dtype=complex)
    return reduce(np.kron, [_PAULI[axis] if k in (i, j) else eye for k in range(n_spins)])


def full_hamiltonian(system: SpinSystem) -> np.ndarray:
    """Dense H/(2 pi) in Hz on the full 2^N space (complex Hermitian, Kronecker-built)."""
    n = system.n_spins
    h = np.zeros((2**n, 2**n), dtype=complex)
    for i in range(n):
        h += system.offsets_hz[i] * spin_operator(n, i, "z")
    for i in range(n):
        for j in range(i + 1, n):
            if system.couplings_hz[i, j] != 0.0:
                for a in "xyz":
                    h += system.couplings_hz[i, j] * _pair_operator(n, i, j, a)
    return h


def _total(n: int, axis: str) -> np.ndarray:
    return sum(spin_operator(n, i, axis) for i in range(n))  # type: ignore[return-value]


def simulate_dense_expm(
    system: SpinSystem,
    times: Sequence[float] | np.ndarray | None = None,
    observables: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Reference: U = expm(-2 pi i H t) for every time point, rho(t) = U rho0 U^dagger, traces."""
    t = check_times(times)
    obs = check_observables(observables)
    n = system.n_spins
    h = full_hamiltonian(system)
    fx, fy = _total(n, "x"), _total(n, "y")
    iz1 = spin_operator(n, 0, "z")
    nx = float(np.real(np.trace(fx @ fx)))
    nz = float(np.real(np.trace(iz1 @ iz1)))
    res = {o: np.zeros(t.size) for o in obs}
    for m, tm in enumerate(t):
        u = scipy.linalg.expm(-2j * np.pi * tm * h)
        if "Mx" in obs or "My" in obs:
            rho = u @ fx @ u.conj().T
            if "Mx" in obs:
                res["Mx"][m] = np.real(np.vdot(fx, rho)) / nx  # vdot(A, B) = Tr(A^dagger B)
            if "My" in obs:
                res["My"][m] = np.real(np.vdot(fy, rho)) / nx
        if "I1z" in obs:
            rho = u @ iz1 @ u.conj().T
            res["I1z"][m] = np.real(np.vdot(iz1, rho)) / nz
    return {"t": t, **res}


def simulate_exact_full(
    system: SpinSystem,
    times: Sequence[float] | np.ndarray | None = None,
    observables: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """One eigendecomposition of the full 2^N Hamiltonian (no sectors), then every time point."""
    t = check_times(times)
    obs = check_observables(observables)
    n = system.n_spins
    # H, Fx, F+ and I1z are real in the Zeeman basis (I_y I_y is real): real eigh and GEMMs, 4x cheaper
    e, v = np.linalg.eigh(full_hamiltonian(system).real)
    th = 2.0 * np.pi * np.outer(t, e)
    c, s = np.cos(th), np.sin(th)  # (T, 2^N); real GEMMs below, as in the block method
    nt = t.size

    def trace_sum(w: np.ndarray) -> np.ndarray:
        # sum_ab w_ab exp(-i th_a) exp(i th_b) for every t
        g = np.concatenate([c, s]) @ w.T
        gc, gs = g[:nt], g[nt:]
        return (c * gc + s * gs).sum(axis=1) + 1j * (c * gs - s * gc).sum(axis=1)
    out: dict[str, np.ndarray] = {"t": t}
    if "Mx" in obs or "My" in obs:
        # Tr(rho(t) F+) with rho0 = Fx: sum_ab <a|Fx|b><b|F+|a> exp(2 pi i (E_b - E_a) t)
        fx = v.T @ _total(n, "x").real @ v
        fp = v.T @ _total(n, "+").real @ v
        w = fx * fp.T  # w[a, b] = (Fx)_ab (F+)_ba
        sig = trace_sum(w) / (n * 2.0 ** (n - 2))
        if "Mx" in obs:
            out["Mx"] = sig.real
        if "My" in obs:
            out["My"] = sig.imag
    if "I1z" in obs:
        z = v.T @ spin_operator(n, 0, "z").real @ v
        w = z * z
        out["I1z"] = trace_sum(w).real / 2.0 ** (n - 2)
    return out
