"""FID and I1z by sector-wise time propagation (Krylov-type expm_multiply or Chebyshev), no eigensolver.

Example:
    >>> from labkit.nmr_fno.systems import SpinSystem
    >>> out = simulate_propagated(SpinSystem([50.0], None), [0.0, 0.005], method="chebyshev")
    >>> [round(float(x), 9) for x in out["Mx"]]
    [1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .grid import check_observables, check_times
from .propagators import PROPAGATORS, propagate_block
from .sectors import iz_diagonal, lowering_block, sector_hamiltonian
from .systems import SpinSystem

__all__ = ["simulate_chebyshev", "simulate_krylov", "simulate_propagated"]


def simulate_propagated(
    system: SpinSystem,
    times: Sequence[float] | np.ndarray | None = None,
    observables: Sequence[str] | None = None,
    method: str = "krylov",
    tol: float = 1e-10,
) -> dict[str, np.ndarray]:
    """Mx, My, I1z by propagating operator blocks sector by sector (method 'krylov' or 'chebyshev').

    For 'chebyshev', `tol` bounds the series truncation per time step; errors add up over the grid.
    """
    if method not in PROPAGATORS:
        raise ValueError(f"method: must be one of {PROPAGATORS}, got {method!r}")
    t = check_times(times)
    obs = check_observables(observables)
    n = system.n_spins
    step_tol = tol / max(t.size, 1)
    hs = [sector_hamiltonian(system, k) for k in range(n + 1)]
    out: dict[str, np.ndarray] = {"t": t}
    if "Mx" in obs or "My" in obs:
        sig = np.zeros(t.size, dtype=complex)
        for k in range(1, n + 1):
            fm = lowering_block(n, k)  # (n_{k-1}, n_k)
            ys = propagate_block(hs[k - 1], fm.toarray(), t, method, step_tol)
            ws = propagate_block(hs[k], fm.T.toarray(), t, method, step_tol)
            for m, (y, w) in enumerate(zip(ys, ws, strict=True)):
                sig[m] += np.vdot(w.T, y)  # sum_ij conj(W_ji) Y_ij
        sig /= n * 2.0 ** (n - 1)
        if "Mx" in obs:
            out["Mx"] = sig.real.copy()
        if "My" in obs:
            out["My"] = sig.imag.copy()
    if "I1z" in obs:
        z = np.zeros(t.size)
        for k in range(n + 1):
            d = sp.diags(iz_diagonal(n, k)).toarray()
            for m, y in enumerate(propagate_block(hs[k], d, t, method, step_tol)):
                z[m] += np.vdot(y.T, y).real
        out["I1z"] = z / 2.0 ** (n - 2)
    return out


def simulate_krylov(system: SpinSystem, times: Sequence[float] | np.ndarray | None = None, observables: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """`simulate_propagated` with scipy's expm_multiply (Al-Mohy-Higham) on each sector."""
    return simulate_propagated(system, times, observables, method="krylov")


def simulate_chebyshev(
    system: SpinSystem, times: Sequence[float] | np.ndarray | None = None, observables: Sequence[str] | None = None, tol: float = 1e-10
) -> dict[str, np.ndarray]:
    """`simulate_propagated` with the Chebyshev series (total truncation error ~tol)."""
    return simulate_propagated(system, times, observables, method="chebyshev", tol=tol)
