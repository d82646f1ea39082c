"""`simulate(system, times, method)`: one entry point for every simulator, with input and memory checks.

Methods (all return {"t", "Mx", "My", "I1z"} by default; Mx(0) = 1 from rho0 = Fx, I1z(0) = 1 from rho0 = I1z):

| method       | what                                                                     |
|--------------|--------------------------------------------------------------------------|
| exact        | eigh of each total-Fz sector, FID from neighbouring sector pairs (fastest) |
| exact-full   | one eigh of the full 2^N Hamiltonian, no sectors (nmrsim's approach)     |
| krylov       | sparse sector H, expm_multiply step by step on operator blocks           |
| chebyshev    | sparse sector H, Chebyshev series, order from Gershgorin bounds and tol  |
| dense-expm   | full 2^N expm(-iHt) at every time point: the original's slow reference   |
| torch        | the batched torch sector-eigh path (simulate_batch) for one system       |
| spinach      | MATLAB Spinach through matlab.engine, when importable (else an error)    |

Example:
    >>> from labkit.nmr_fno.systems import random_system
    >>> out = simulate(random_system(4, "chain", seed=0))
    >>> sorted(out), out["Mx"].shape, round(float(out["Mx"][0]), 12)
    (['I1z', 'Mx', 'My', 't'], (300,), 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .grid import check_observables, check_times, guard_memory
from .systems import SpinSystem

__all__ = ["METHODS", "method_function", "simulate"]

METHODS = ("exact", "exact-full", "krylov", "chebyshev", "dense-expm", "torch", "spinach")


def method_function(method: str) -> Callable[..., dict[str, np.ndarray]]:
    """The implementation behind a method name (imports lazily: torch only for 'torch')."""
    if method == "exact":
        from .exact import simulate_exact

        return simulate_exact
    if method == "exact-full":
        from .dense import simulate_exact_full

        return simulate_exact_full
    if method in ("krylov", "chebyshev"):
        from .iterative import simulate_propagated

        return lambda system, times, observables, **kw: simulate_propagated(system, times, observables, method=method, **kw)
    if method == "dense-expm":
        from .dense import simulate_dense_expm

        return simulate_dense_expm
    if method == "torch":
        from .batch import simulate_batch

        def _torch(system: SpinSystem, times: np.ndarray, observables: Sequence[str], **kw: Any) -> dict[str, np.ndarray]:
            res = simulate_batch([system], times, observables=observables, **kw)
            return {"t": times, **{k: v[0].cpu().numpy() for k, v in res.items()}}

        return _torch
    if method == "spinach":
        from .spinach import simulate_spinach

        return simulate_spinach
    raise ValueError(f"method: unknown simulation method {method!r}; choose one of {METHODS}")


def simulate(
    system: SpinSystem,
    times: Sequence[float] | np.ndarray | None = None,
    method: str = "exact",
    observables: Sequence[str] | None = None,
    max_memory_bytes: int | None = None,
    **options: Any,
) -> dict[str, np.ndarray]:
    """Simulate Mx, My (FID after a 90-degree pulse) and I1z (polarisation of spin 1) on a time grid.

    times=None uses the default grid (300 points, dt = 1 ms, see `labkit.nmr_fno.grid`).
    Refuses (MemoryLimitError, with the estimate) when the method would not fit in memory.
    Extra options go to the method (e.g. eigh_driver for 'exact', tol for 'chebyshev', device for 'torch').
    """
    if not isinstance(system, SpinSystem):
        raise TypeError(f"system: expected a SpinSystem, got {type(system).__name__}")
    if method not in METHODS:
        raise ValueError(f"method: unknown simulation method {method!r}; choose one of {METHODS}")
    t = check_times(times)
    obs = check_observables(observables)
    guard_memory(system.n_spins, method, t.size, max_memory_bytes)
    return method_function(method)(system, t, obs, **options)
