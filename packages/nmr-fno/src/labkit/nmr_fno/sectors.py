"""Total-Fz sectors of an N-spin Hilbert space and the Hamiltonian / operators restricted to them.

Isotropic couplings conserve total Fz, so H is block diagonal in the Zeeman basis with one
real symmetric block per number k of "up" spins (size C(N, k)). Basis states are integers whose
bit i is 1 when spin i is up (m_i = +1/2). All energies here are in Hz, i.e. the matrix is H/(2 pi hbar).

Example:
    >>> from labkit.nmr_fno.systems import SpinSystem
    >>> s = SpinSystem([10.0, 20.0], [[0, 10.0], [10.0, 0]])
    >>> sector_hamiltonian(s, 1).toarray().tolist()
    [[-7.5, 5.0], [5.0, 2.5]]
"""

from __future__ import annotations

from functools import lru_cache
from math import comb

import numpy as np
import scipy.sparse as sp

from .systems import SpinSystem

__all__ = [
    "iz_diagonal",
    "lowering_block",
    "sector_bounds",
    "sector_hamiltonian",
    "sector_sizes",
    "sector_states",
]


@lru_cache(maxsize=64)
def _sector_states_cached(n_spins: int, k: int) -> np.ndarray:
    if n_spins <= 22:
        allstates = np.arange(1 << n_spins, dtype=np.int64)
        pop = np.zeros(allstates.size, dtype=np.int8)
        for i in range(n_spins):
            pop += ((allstates >> i) & 1).astype(np.int8)
        out = allstates[pop == k]
    else:  # enumerate combinations directly when 2^N is too large to scan
        from itertools import combinations

        out = np.array(sorted(sum(1 << b for b in c) for c in combinations(range(n_spins), k)), dtype=np.int64)
    out.setflags(write=False)
    return out


def sector_states(n_spins: int, k: int) -> np.ndarray:
    """Sorted basis states (bit masks) with exactly k spins up.

    >>> sector_states(3, 1).tolist()
    [1, 2, 4]
    """
    if not 0 <= k <= n_spins:
        raise ValueError(f"k: sector index must lie in [0, {n_spins}], got {k}")
    return _sector_states_cached(int(n_spins), int(k))


def sector_sizes(n_spins: int) -> list[int]:
    """Block sizes C(N, k) for k = 0..N."""
    return [comb(n_spins, k) for k in range(n_spins + 1)]


def _bits(states: np.ndarray, n_spins: int) -> np.ndarray:
    return ((states[:, None] >> np.arange(n_spins, dtype=np.int64)[None, :]) & 1).astype(np.int8)


def _sector_coo(system: SpinSystem, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    n = system.n_spins
    states = sector_states(n, k)
    bits = _bits(states, n)
    m = bits - 0.5
    nu = system.offsets_hz
    jm = system.couplings_hz
    # diagonal: Zeeman + the Iz Iz part of I_i . I_j (sum over i<j = half the full quadratic form)
    diag = m @ nu + 0.5 * np.einsum("si,ij,sj->s", m, jm, m)
    rows = [np.arange(states.size)]
    cols = [np.arange(states.size)]
    vals = [diag]
    ii, jj = np.nonzero(np.triu(jm, k=1))
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        # flip-flop (I+_i I-_j + I-_i I+_j)/2 swaps an up and a down spin with amplitude J/2
        src = np.nonzero(bits[:, i] != bits[:, j])[0]
        if src.size == 0:
            continue
        dst = np.searchsorted(states, states[src] ^ ((1 << i) | (1 << j)))
        rows.append(src)
        cols.append(dst)
        vals.append(np.full(src.size, 0.5 * jm[i, j]))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), states.size


def sector_hamiltonian(system: SpinSystem, k: int) -> sp.csr_matrix:
    """Sparse real symmetric block of H/(2 pi) in Hz for the sector with k spins up."""
    r, c, v, size = _sector_coo(system, k)
    return sp.csr_matrix((v, (r, c)), shape=(size, size))


def sector_hamiltonian_dense(system: SpinSystem, k: int) -> np.ndarray:
    """Dense version of :func:`sector_hamiltonian` (built without a sparse intermediate)."""
    r, c, v, size = _sector_coo(system, k)
    h = np.zeros((size, size))
    h[r, c] = v  # each (row, col) pair occurs once: distinct spin pairs never connect the same two states
    return h


def lowering_block(n_spins: int, k: int) -> sp.csr_matrix:
    """F- = sum_i I_i^- restricted to sector k -> sector k-1, shape (C(N,k-1), C(N,k)).

    >>> lowering_block(2, 1).toarray().tolist()
    [[1.0, 1.0]]
    """
    if not 1 <= k <= n_spins:
        raise ValueError(f"k: the lowering block needs 1 <= k <= {n_spins}, got {k}")
    hi = sector_states(n_spins, k)
    lo = sector_states(n_spins, k - 1)
    bits = _bits(hi, n_spins)
    src, spin = np.nonzero(bits)
    dst = np.searchsorted(lo, hi[src] ^ (np.int64(1) << spin.astype(np.int64)))
    return sp.csr_matrix((np.ones(src.size), (dst, src)), shape=(lo.size, hi.size))


def iz_diagonal(n_spins: int, k: int, spin: int = 0) -> np.ndarray:
    """Diagonal of I_{spin,z} (values +-1/2) on sector k."""
    states = sector_states(n_spins, k)
    return ((states >> spin) & 1).astype(np.float64) - 0.5


def sector_bounds(h: sp.spmatrix) -> tuple[float, float]:
    """Gershgorin interval [lo, hi] containing every eigenvalue of a real symmetric sparse matrix."""
    h = sp.csr_matrix(h)
    d = h.diagonal()
    absrow = np.asarray(abs(h).sum(axis=1)).ravel() - np.abs(d)
    return float(np.min(d - absrow)), float(np.max(d + absrow))
