"""Clear errors: unknown method, bad grids, memory guard, Spinach unavailable, aliasing."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.nmr_fno import AliasingWarning, MemoryLimitError, SpinSystem, estimate_memory_bytes, random_system, simulate
from labkit.nmr_fno.spinach import SpinachUnavailable, spinach_available


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # small matrices on a shared 2-core machine: multi-threaded BLAS only spins (10x the CPU time)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def test_unknown_method_and_observable() -> None:
    s = random_system(3, seed=0)
    with pytest.raises(ValueError, match=r"method.*'magic'.*exact"):
        simulate(s, method="magic")
    with pytest.raises(ValueError, match="observables"):
        simulate(s, observables=("Mz",))
    with pytest.raises(TypeError, match="SpinSystem"):
        simulate(np.zeros(3))  # type: ignore[arg-type]


@pytest.mark.parametrize("times,match", [([[0.0, 1.0]], "1-D"), ([0.0, np.nan], "finite"), ([-1.0, 0.0], ">= 0"),
                                         ([0.2, 0.1], "non-decreasing")])
def test_bad_time_grids(times, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        simulate(random_system(2, seed=0), times)


def test_memory_guard_refuses_with_estimate() -> None:
    est = estimate_memory_bytes(16, "exact")
    assert 2 * 2**30 < est < 20 * 2**30  # N=16: blocks of 12870^2 doubles, a few GB
    assert estimate_memory_bytes(14, "dense-expm") > 2**35
    with pytest.raises(MemoryLimitError, match=r"n_spins=12 .*'dense-expm'.*GiB"):
        simulate(random_system(12, seed=0), method="dense-expm", max_memory_bytes=2**30)
    with pytest.raises(MemoryLimitError, match=r"n_spins=20 .*'exact'"):
        simulate(random_system(20, seed=0), method="exact")


def test_spinach_reports_unavailable_never_fakes() -> None:
    ok, why = spinach_available()
    if ok:  # pragma: no cover - only where MATLAB + Spinach exist
        pytest.skip("Spinach is available here")
    assert "unavailable" in why
    with pytest.raises(SpinachUnavailable, match="unavailable"):
        simulate(random_system(2, seed=0), method="spinach")


def test_aliasing_warning_only_when_lines_leave_the_band() -> None:
    s = SpinSystem([300.0, -50.0], [[0, 8.0], [8.0, 0]])
    with pytest.warns(AliasingWarning, match="aliased"):
        simulate(s, np.arange(50) * 2e-3)  # band +-250 Hz, a line at ~300 Hz
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulate(s)  # default band +-500 Hz
