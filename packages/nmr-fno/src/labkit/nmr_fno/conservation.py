"""Invariants of the propagated density matrix for every classical method, and a naive integrator as contrast.

rho(t) = U rho0 U^dagger with rho0 = (1 + 0.1 (Fx + Fz)) / 2^N (a valid state with non-zero energy
and coherence). Unitary propagation conserves Tr rho, <H> = Tr(rho H), the purity Tr rho^2 and
hermiticity; each is reported as its largest deviation over the time grid. Per method, U comes from:
``exact`` (sector eigendecomposition, assembled in the full space), ``exact-full`` (full eigh),
``krylov`` / ``chebyshev`` (the sparse propagators applied to the columns of rho0, then of the result's
adjoint), ``dense-expm`` (expm at every time). ``euler`` is explicit Euler on drho/dt = -i[H, rho],
as contrast: it keeps the linear invariants (Tr rho and <H>, since Tr[H, rho] = Tr(H [H, rho]) = 0) and
hermiticity exactly, but not the purity, which grows every step (|1 - 2 pi i dt lambda| > 1).

Example:
    >>> from labkit.nmr_fno.systems import SpinSystem
    >>> r = invariants(SpinSystem([10.0, -20.0], [[0, 8.0], [8.0, 0]]), "exact", np.linspace(0, 0.05, 6))
    >>> r["trace"] < 1e-12 and r["energy"] < 1e-9 and r["purity"] < 1e-12 and r["hermiticity"] < 1e-12
    True
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .dense import full_hamiltonian, spin_operator
from .systems import SpinSystem

__all__ = ["CONSERVATION_METHODS", "initial_state", "invariants", "propagate_states"]

CONSERVATION_METHODS = ("exact", "exact-full", "krylov", "chebyshev", "dense-expm", "euler")
EULER_SUBSTEPS = 100


def initial_state(n: int) -> np.ndarray:
    """(1 + 0.1 (Fx + Fz)) / 2^N."""
    fx = sum(spin_operator(n, i, "x") for i in range(n))
    fz = sum(spin_operator(n, i, "z") for i in range(n))
    return (np.eye(2**n) + 0.1 * (fx + fz)) / 2**n


def _sector_unitary_factors(system: SpinSystem) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (Hz) and eigenvectors in the full 2^N basis, assembled from the total-Fz sectors."""
    from .exact import sector_eigensystems
    from .sectors import sector_states

    n = system.n_spins
    dim = 2**n
    e_all, v_all = np.empty(dim), np.zeros((dim, dim))
    col = 0
    for k, e, v in sector_eigensystems(system):
        states = sector_states(n, k)
        # sector basis states are bit patterns with bit i = spin i up; the full basis orders |up> first per spin
        idx = _full_index(states, n)
        e_all[col : col + e.size] = e
        v_all[np.ix_(idx, np.arange(col, col + e.size))] = v
        col += e.size
    return e_all, v_all


def _full_index(states: np.ndarray, n: int) -> np.ndarray:
    """Full-space (Kronecker, spin 0 most significant, |up> = index 0) index of sector bit patterns."""
    idx = np.zeros(states.size, dtype=np.int64)
    for i in range(n):
        down = 1 - ((states >> i) & 1)
        idx = idx * 2 + down
    return idx


def propagate_states(system: SpinSystem, method: str, times: np.ndarray, rho0: np.ndarray | None = None) -> np.ndarray:
    """rho(t) for every time, shape (T, 2^N, 2^N), by ``method`` (see the module docstring)."""
    if method not in CONSERVATION_METHODS:
        raise ValueError(f"method: must be one of {CONSERVATION_METHODS}, got {method!r}")
    t = np.asarray(times, dtype=np.float64)
    rho0 = initial_state(system.n_spins) if rho0 is None else rho0
    h = full_hamiltonian(system)
    out = np.empty((t.size, *rho0.shape), dtype=complex)
    if method in ("exact", "exact-full"):
        e, v = _sector_unitary_factors(system) if method == "exact" else np.linalg.eigh(h)
        r = v.conj().T @ rho0 @ v
        for m, tm in enumerate(t):
            ph = np.exp(-2j * np.pi * e * tm)
            out[m] = v @ (ph[:, None] * r * ph.conj()[None, :]) @ v.conj().T
    elif method == "dense-expm":
        for m, tm in enumerate(t):
            u = scipy.linalg.expm(-2j * np.pi * h * tm)
            out[m] = u @ rho0 @ u.conj().T
    elif method in ("krylov", "chebyshev"):
        from .propagators import propagate_block

        hs = sp.csr_matrix(h.real) if np.allclose(h.imag, 0) else None
        if hs is None:  # H is real in this basis for isotropic couplings
            raise ValueError("the sparse propagators need a real Hamiltonian")
        y = np.stack(list(propagate_block(hs, rho0, t, method)))  # U rho0
        for m, tm in enumerate(t):
            z = next(iter(propagate_block(hs, y[m].conj().T, np.array([tm]), method)))  # U (U rho0)^dagger
            out[m] = z.conj().T
    else:  # euler, with the grid's own step subdivided EULER_SUBSTEPS times
        rho = rho0.astype(complex)
        out[0] = rho
        for m in range(1, t.size):
            dt = (t[m] - t[m - 1]) / EULER_SUBSTEPS
            for _ in range(EULER_SUBSTEPS):
                rho = rho - 2j * np.pi * dt * (h @ rho - rho @ h)
            out[m] = rho
    return out


def invariants(system: SpinSystem, method: str, times: np.ndarray) -> dict[str, float]:
    """Largest deviation over ``times`` of Tr rho, <H>, Tr rho^2 from t = 0, and of rho from rho^dagger."""
    rho = propagate_states(system, method, times)
    h = full_hamiltonian(system)
    tr = np.einsum("tii->t", rho)
    energy = np.einsum("tij,ji->t", rho, h)
    purity = np.einsum("tij,tji->t", rho, rho)
    return {"trace": float(np.max(np.abs(tr - tr[0]))), "energy": float(np.max(np.abs(energy - energy[0]))),
            "purity": float(np.max(np.abs(purity - purity[0]))),
            "hermiticity": float(np.max(np.abs(rho - np.conj(np.swapaxes(rho, 1, 2)))))}
