"""Scaling suite of the classical simulators: seconds per 300-point FID, methods side by side per N.

Run with `labkit bench nmr-fno` or `pytest tests/benchmarks/nmr_fno`. Compare rows inside a group
(`group=N=..`): the block method `exact` against the full-space eigh (`exact-full`, nmrsim's
approach), the sparse propagators, and the per-step dense expm reference (the original's method).
BLAS threads are pinned to 1 so the ratios do not depend on machine load.
"""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from labkit.nmr_fno import default_times, random_system, simulate

OBS = ("Mx", "My")
CASES = [
    (6, "exact"), (6, "exact-full"), (6, "krylov"), (6, "chebyshev"), (6, "dense-expm"),
    (8, "exact"), (8, "exact-full"), (8, "krylov"), (8, "chebyshev"),
    (10, "exact"), (10, "exact-full"),
    (12, "exact"),
]


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.mark.parametrize("n,method", CASES, ids=[f"N{n}-{m}" for n, m in CASES])
def test_fid_per_trajectory(benchmark, n: int, method: str) -> None:
    benchmark.group = f"N={n}"
    system = random_system(n, "random", seed=0)
    t = default_times()
    rounds = 1 if (method in ("dense-expm", "krylov", "chebyshev") and n >= 8) or n >= 12 else 3
    out = benchmark.pedantic(simulate, args=(system, t, method, OBS), rounds=rounds, iterations=1, warmup_rounds=0)
    assert abs(out["Mx"][0] - 1.0) < 1e-10


@pytest.mark.parametrize("batch", [1, 16])
def test_torch_batch_per_call(benchmark, batch: int) -> None:
    torch = pytest.importorskip("torch")
    from labkit.nmr_fno import simulate_batch

    benchmark.group = "N=8 torch batch"
    torch.set_num_threads(1)
    systems = [random_system(8, "random", seed=s) for s in range(batch)]
    out = benchmark.pedantic(simulate_batch, args=(systems, default_times()), kwargs={"observables": OBS},
                             rounds=3, iterations=1, warmup_rounds=1)
    assert out["Mx"].shape == (batch, 300)


@pytest.mark.parametrize("driver", ["numpy", "evd", "evr"])
def test_lapack_driver_exact_n10(benchmark, driver: str) -> None:
    # numpy.linalg.eigh (syevd) is the default; scipy's drivers side by side on the same system
    benchmark.group = "N=10 eigh driver"
    system = random_system(10, "random", seed=0)
    out = benchmark.pedantic(simulate, args=(system, default_times(), "exact", OBS), kwargs={"eigh_driver": driver},
                             rounds=3, iterations=1, warmup_rounds=1)
    assert abs(out["Mx"][0] - 1.0) < 1e-10
