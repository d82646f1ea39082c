"""Surrogate inference per trajectory (batch 1 and batched) vs the fastest exact method (sector eigh), per N.

Compare within a group (``--benchmark-group-by=group``): each N's group holds the exact block method and
the surrogate at batch 1 and batch 64 (the batched figure is per call; divide by 64 per trajectory).
Weights do not change the cost, so an untrained model of the default architecture is timed.
"""

import pytest
import torch

from labkit.nmr_fno.fno import FNOConfig
from labkit.nmr_fno.simulate import simulate
from labkit.nmr_fno.surrogate import Surrogate, SurrogateSpec
from labkit.nmr_fno.systems import random_system

N_VALUES = (4, 8, 10, 12)
BATCH = 64


def _surrogate(device):
    torch.manual_seed(0)
    sur = Surrogate.build(SurrogateSpec(n_max=max(N_VALUES)), FNOConfig())
    return sur.model.to(device).eval(), sur


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every benchmark here runs on one torch thread."""


@pytest.mark.parametrize("n", N_VALUES)
def test_exact_block(benchmark, n):
    benchmark.group = f"N={n}"
    system = random_system(n, "chain", seed=0)
    times = SurrogateSpec().times()
    out = benchmark.pedantic(simulate, args=(system, times, "exact"), rounds=3 if n < 12 else 1, iterations=1)
    assert out["Mx"].shape == (300,)


@pytest.mark.parametrize("batch", [1, BATCH])
@pytest.mark.parametrize("n", N_VALUES)
def test_surrogate_cpu(benchmark, n, batch):
    benchmark.group = f"N={n}"
    model, sur = _surrogate("cpu")
    x = sur.encode([random_system(n, "chain", seed=s) for s in range(batch)])
    with torch.no_grad():
        out = benchmark(model, x)
    assert out.shape == (batch, 3, 300)


@pytest.mark.gpu
@pytest.mark.parametrize("batch", [1, BATCH, 1024])
def test_surrogate_cuda(benchmark, batch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model, sur = _surrogate("cuda")
    x = sur.encode([random_system(8, "chain", seed=s % 64) for s in range(batch)])

    def run():
        with torch.no_grad():
            y = model(x)
        torch.cuda.synchronize()
        return y

    assert benchmark(run).shape == (batch, 3, 300)
