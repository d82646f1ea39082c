"""Benchmarks: 10k-point spectrum (15 eigenvalues) and PINN training steps (CPU; GPU marked)."""


import numpy as np
import pytest
import torch

from labkit.g2_pinn.geometry import sample_s3
from labkit.g2_pinn.losses import G2Loss
from labkit.g2_pinn.model import G2PINN
from labkit.g2_pinn.spectrum import laplacian_eigenvalues


def test_spectrum_10k_15(benchmark):
    pts = sample_s3(10_000, np.random.default_rng(0))
    lam = benchmark.pedantic(laplacian_eigenvalues, args=(pts, 15), rounds=1, iterations=1)
    assert abs(lam[1] / 3 - 1) < 0.05


def _step(device: str, hidden=(512, 512, 512, 256), batch=64, chart="round"):
    model = G2PINN(hidden=hidden, chart=chart).to(device)
    loss = G2Loss()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        x = model.chart.sample(batch, device=device)
        opt.zero_grad()
        res, _ = loss(model, x)
        res.total.backward()
        opt.step()
    return step


def test_pinn_step_cpu(benchmark):
    benchmark.pedantic(_step("cpu"), rounds=2, iterations=1, warmup_rounds=1)


@pytest.mark.gpu
def test_pinn_step_gpu(benchmark):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA")
    step = _step("cuda", batch=512)
    benchmark.pedantic(lambda: (step(), torch.cuda.synchronize()), rounds=5, iterations=1, warmup_rounds=2)


@pytest.mark.gpu
def test_spectrum_100k_gpu(benchmark):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA")
    torch.cuda.empty_cache()  # the PINN step benchmarks leave torch's cache holding most of the GPU
    pts = sample_s3(100_000, np.random.default_rng(0))
    lam = benchmark.pedantic(laplacian_eigenvalues, args=(pts, 15), kwargs={"device": "cuda"}, rounds=1, iterations=1)
    assert abs(lam[1] / 3 - 1) < 0.05
