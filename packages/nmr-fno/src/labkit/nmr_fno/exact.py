"""Exact simulation by block diagonalisation of H over total-Fz sectors (the fastest exact method).

For the FID (rho0 = Fx, detect F+), sector k-1 and sector k are linked by F-: with
H_k = V_k diag(E_k) V_k^T and A = V_{k-1}^T F- V_k, Tr(rho(t) F+) = 1/2 sum_k sum_ab A_ab^2
exp(2 pi i (E_b - E_a) t). The sum over the C(2N, N-1) transitions is evaluated as one real GEMM
per sector pair, [cos; sin](2 pi E_k t) @ (A o A)^T, instead of T x C(2N, N-1) exponentials; on a
uniform grid t_m = m dt the tables [cos; sin](2 pi E t) come from products of phasors
(:func:`~labkit.nmr_fno.grid.phasors`), not from 2 T sines and cosines per level.

Example:
    >>> from labkit.nmr_fno.systems import SpinSystem
    >>> out = simulate_exact(SpinSystem([50.0], None), [0.0, 0.005])
    >>> [abs(round(float(x), 12)) for x in out["Mx"]]
    [1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import scipy.linalg

from .grid import check_observables, check_times, nyquist_hz, phasors, uniform_step, warn_if_aliased
from .sectors import iz_diagonal, lowering_block, sector_hamiltonian_dense
from .systems import SpinSystem

__all__ = ["DEFAULT_EIGH_DRIVER", "EIGH_DRIVERS", "fid_transitions", "sector_eigensystems", "simulate_exact"]

EIGH_DRIVERS = ("numpy", "evd", "evr", "ev", "evx")
# numpy.linalg.eigh (LAPACK syevd) measured fastest and most stable on the 2-core CPU; see README
DEFAULT_EIGH_DRIVER = "numpy"


def _eigh(h: np.ndarray, driver: str) -> tuple[np.ndarray, np.ndarray]:
    if h.shape[0] == 1:
        return h.diagonal().copy(), np.ones((1, 1))
    if driver == "numpy":
        return np.linalg.eigh(h)
    if driver not in EIGH_DRIVERS:
        raise ValueError(f"eigh_driver: must be one of {EIGH_DRIVERS}, got {driver!r}")
    return scipy.linalg.eigh(h, driver=driver, overwrite_a=True, check_finite=False)


def sector_eigensystems(system: SpinSystem, eigh_driver: str = DEFAULT_EIGH_DRIVER) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (k, E_k in Hz, V_k) for k = 0..N, one sector at a time (memory stays at two sectors)."""
    for k in range(system.n_spins + 1):
        e, v = _eigh(sector_hamiltonian_dense(system, k), eigh_driver)
        yield k, e, v


def _phase_table(e: np.ndarray, t: np.ndarray, dt: float | None) -> np.ndarray:
    """[cos; sin](2 pi E t), (2T, n); on a uniform grid (dt given) from phasor tables instead of 2 T n sines."""
    if dt is None:
        ph = (2.0 * np.pi) * np.outer(t, e)
        return np.concatenate([np.cos(ph), np.sin(ph)], axis=0)
    z = phasors(e, dt, t.size)
    out = np.empty((2 * t.size, e.size))
    out[: t.size], out[t.size :] = z.real, z.imag
    return out


def fid_transitions(system: SpinSystem, eigh_driver: str = DEFAULT_EIGH_DRIVER) -> tuple[np.ndarray, np.ndarray]:
    """All FID lines: (frequencies in Hz, intensities normalised to sum 1), unsorted.

    >>> f, a = fid_transitions(SpinSystem([10.0, 20.0], [[0, 10.0], [10.0, 0]]))
    >>> sorted(np.round(f, 6).tolist())
    [2.928932, 12.928932, 17.071068, 27.071068]
    """
    freqs, ints = [], []
    prev = None
    for k, e, v in sector_eigensystems(system, eigh_driver):
        if prev is not None:
            e_lo, v_lo = prev
            a = v_lo.T @ (lowering_block(system.n_spins, k) @ v)
            freqs.append((e[None, :] - e_lo[:, None]).ravel())
            ints.append((a * a).ravel())
        prev = (e, v)
    f = np.concatenate(freqs)
    w = np.concatenate(ints)
    return f, w / w.sum()


def simulate_exact(
    system: SpinSystem,
    times: Sequence[float] | np.ndarray | None = None,
    observables: Sequence[str] | None = None,
    eigh_driver: str = DEFAULT_EIGH_DRIVER,
    check_aliasing: bool = True,
) -> dict[str, np.ndarray]:
    """Mx, My (rho0 = Fx, Mx(0) = 1) and I1z (rho0 = I1z, I1z(0) = 1) by sector eigendecomposition."""
    t = check_times(times)
    obs = check_observables(observables)
    n = system.n_spins
    want_fid = "Mx" in obs or "My" in obs
    want_i1z = "I1z" in obs
    nt = t.size
    s_re = np.zeros(nt)
    s_im = np.zeros(nt)
    s_z = np.zeros(nt)
    nyq = nyquist_hz(t) if check_aliasing else None
    aliased = 0.0
    prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    dt = uniform_step(t)
    for k, e, v in sector_eigensystems(system, eigh_driver):
        p = _phase_table(e, t, dt)
        if want_i1z:
            b = v.T @ (iz_diagonal(n, k)[:, None] * v)
            np.multiply(b, b, out=b)
            g = p @ b  # (2T, n): [cos; sin] @ W, W symmetric; cos(a - b) = c_a c_b + s_a s_b
            s_z += np.einsum("ta,ta->t", p[:nt], g[:nt]) + np.einsum("ta,ta->t", p[nt:], g[nt:])
        if want_fid and prev is not None:
            e_lo, v_lo, p_lo = prev
            a = v_lo.T @ (lowering_block(n, k) @ v)
            np.multiply(a, a, out=a)  # intensities W_ab, (n_{k-1}, n_k)
            g = p @ a.T  # (2T, n_{k-1}): sum_b W_ab [cos; sin](2 pi E_b t)
            c_lo, s_lo = p_lo[:nt], p_lo[nt:]
            gc, gs = g[:nt], g[nt:]
            # exp(-i th_a) exp(i th_b) = (c_a c_b + s_a s_b) + i (c_a s_b - s_a c_b)
            s_re += np.einsum("ta,ta->t", c_lo, gc) + np.einsum("ta,ta->t", s_lo, gs)
            s_im += np.einsum("ta,ta->t", c_lo, gs) - np.einsum("ta,ta->t", s_lo, gc)
            if nyq is not None:
                aliased += float(a[np.abs(e[None, :] - e_lo[:, None]) > nyq].sum())
        prev = (e, v, p) if want_fid else None
    out: dict[str, np.ndarray] = {"t": t}
    if want_fid:
        norm = n * 2.0 ** (n - 1)  # sum of all intensities = Tr(F- F+)
        if nyq is not None:
            warn_if_aliased(aliased / norm, nyq)
        if "Mx" in obs:
            out["Mx"] = s_re / norm
        if "My" in obs:
            out["My"] = s_im / norm
    if want_i1z:
        out["I1z"] = s_z / 2.0 ** (n - 2)  # Tr(I1z^2) = 2^N / 4
    return out
