"""The batched torch path equals the numpy block method, for SpinSystem lists and raw parameter tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.nmr_fno import random_system, simulate, simulate_batch


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # small matrices on a shared 2-core machine: multi-threaded BLAS only spins (10x the CPU time)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def test_batch_matches_exact_per_system() -> None:
    systems = [random_system(6, topo, seed=s) for s, topo in enumerate(["chain", "ring", "star", "random"])]
    t = np.arange(120) * 1e-3
    out = simulate_batch(systems, t, device="cpu")
    params = torch.tensor(np.stack([s.to_vector() for s in systems]))
    again = simulate_batch(params, t)
    for i, s in enumerate(systems):
        ref = simulate(s, t)
        for key in ("Mx", "My", "I1z"):
            assert out[key].shape == (4, 120)
            assert np.abs(out[key][i].numpy() - ref[key]).max() < 1e-10
            assert torch.equal(out[key][i], again[key][i])


def test_float32_batch_is_close_and_errors_are_clear() -> None:
    systems = [random_system(4, seed=s) for s in range(3)]
    out = simulate_batch(systems, None, dtype=torch.float32, observables=("Mx",))
    ref = simulate(systems[1], observables=("Mx",))
    assert set(out) == {"Mx"} and out["Mx"].dtype == torch.float32
    assert np.abs(out["Mx"][1].numpy() - ref["Mx"]).max() < 1e-3
    with pytest.raises(ValueError, match="one spin count"):
        simulate_batch([random_system(3, seed=0), random_system(4, seed=0)])
    with pytest.raises(ValueError, match="parameters per row"):
        simulate_batch(torch.zeros(2, 7), n_spins=3)
    with pytest.raises(ValueError, match="finite"):
        simulate_batch(torch.full((1, 6), float("nan")))


@pytest.mark.gpu
def test_batch_on_cuda_matches_cpu() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    systems = [random_system(8, seed=s) for s in range(8)]
    gpu = simulate_batch(systems, device="cuda")
    cpu = simulate_batch(systems, device="cpu")
    for key in gpu:
        assert (gpu[key].cpu() - cpu[key]).abs().max() < 1e-9


def test_cpu_pool_eigh_matches_device_eigh():
    from labkit.nmr_fno.task import TASK_TIMES, task_systems

    systems = task_systems(7, 6, seed=3)
    a = simulate_batch(systems, TASK_TIMES)
    b = simulate_batch(systems, TASK_TIMES, eigh="cpu-pool", eigh_threads=2)
    assert all(float((a[k] - b[k]).abs().max()) < 1e-12 for k in a)
    with pytest.raises(ValueError, match="eigh"):
        simulate_batch(systems, TASK_TIMES, eigh="gpu")


def test_batched_eigh_mode_is_cuda_only_with_a_clear_error():
    from labkit.nmr_fno.task import TASK_TIMES, task_systems

    with pytest.raises(ValueError, match="eigh: 'batched' runs on a CUDA device only"):
        simulate_batch(task_systems(4, 2, seed=1), TASK_TIMES, device="cpu", eigh="batched")


@pytest.mark.gpu
def test_batched_cusolver_eigh_matches_the_per_system_exact_method():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from labkit.nmr_fno.cusolver_eigh import batched_eigh_available
    from labkit.nmr_fno.exact import simulate_exact
    from labkit.nmr_fno.task import TASK_TIMES, task_systems

    ok, why = batched_eigh_available()
    if not ok:
        pytest.skip(why)
    systems = task_systems(8, 5, seed=9)  # sectors up to 70 x 70: the XsyevBatched path
    out = simulate_batch(systems, TASK_TIMES, device="cuda", eigh="batched", observables=("Mx", "My"))
    for i, s in enumerate(systems):
        ref = simulate_exact(s, TASK_TIMES, ("Mx", "My"))
        for k in ("Mx", "My"):
            assert float((out[k][i].cpu() - torch.from_numpy(ref[k])).abs().max()) < 1e-9
