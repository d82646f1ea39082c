"""`simulate(system, times, method)`: one entry point for every simulator, with input and memory checks.

Methods: see :data:`labkit.nmr_fno.methods.METHOD_TABLE` (all return {"t", "Mx", "My", "I1z"} by default;
Mx(0) = 1 from rho0 = Fx, I1z(0) = 1 from rho0 = I1z).

Example:
    >>> from labkit.nmr_fno.systems import random_system
    >>> out = simulate(random_system(4, "chain", seed=0))
    >>> sorted(out), out["Mx"].shape, round(float(out["Mx"][0]), 12)
    (['I1z', 'Mx', 'My', 't'], (300,), 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .grid import check_observables, check_times
from .methods import METHOD_TABLE, guard_memory, method_function
from .systems import SpinSystem

__all__ = ["METHODS", "method_function", "simulate"]

METHODS = tuple(METHOD_TABLE)


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
