"""Speed of labkit-zeta-gnn: zeros/s (flint vs mpmath), 1M-node graph build, training nodes/s (CPU, GPU).

Ratios are recorded in ``extra_info`` next to pytest-benchmark's own timings. Every function is
also a correctness smoke test under ``--benchmark-disable``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from labkit.zeta_gnn.graph import adelic_edges, gcn_norm
from labkit.zeta_gnn.zeros import compute_zeros


def test_zeros_per_second_flint_vs_mpmath(benchmark):
    n0, k_flint, k_mp = 10_000, 30, 1
    t = time.perf_counter()
    mp = compute_zeros(n0, k_mp, backend="mpmath", workers=1)
    mp_rate = k_mp / (time.perf_counter() - t)
    fl = benchmark.pedantic(compute_zeros, args=(n0, k_flint), kwargs={"backend": "flint", "workers": 1},
                            rounds=1, iterations=1)
    t = time.perf_counter()
    compute_zeros(n0, k_flint, backend="flint", workers=1)
    fl_rate = k_flint / (time.perf_counter() - t)
    np.testing.assert_allclose(fl[:k_mp], mp, atol=1e-9)
    benchmark.extra_info.update(flint_zeros_per_s=fl_rate, mpmath_zeros_per_s=mp_rate, speedup=fl_rate / mp_rate)


def test_graph_build_1m_nodes(benchmark):
    def build():
        ei = adelic_edges(1_000_000)
        return ei, gcn_norm(ei, 1_000_000)

    ei, w = benchmark.pedantic(build, rounds=2, iterations=1)
    assert ei.shape == (2, 2 * (6 * 1_000_000 - 29) + 1_000_000)
    assert np.isfinite(w).all()


def _epoch_rate(device: str, n: int = 10_000, epochs: int = 2) -> float:
    # synthetic ordinates are enough for throughput: smooth zeros plus jitter
    from labkit.zeta_gnn.baseline import mean_spacing, smooth_zeros
    from labkit.zeta_gnn.losses import SpacingLoss
    from labkit.zeta_gnn.model import ZetaGCN
    from labkit.zeta_gnn.spectral import spacing_law
    from labkit.zeta_gnn.training import prepare, train_epoch

    base = smooth_zeros(np.arange(1, n + 1, dtype=float))
    z = base + 0.2 * mean_spacing(base) * np.random.default_rng(0).uniform(-1, 1, n)
    data = prepare(z, n - 10)
    torch.manual_seed(0)
    model = ZetaGCN(data.x.shape[1], 128).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss = SpacingLoss(spacing_law("wigner"), {"mse": 1.0, "nll": 0.02, "mmd": 0.1})
    train_epoch(model, opt, data, loss, device=device, rng=np.random.default_rng(0))  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    seen = 0.0
    for e in range(epochs):
        seen += train_epoch(model, opt, data, loss, device=device, rng=np.random.default_rng(e))["nodes"]
    if device == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - t)


def test_training_throughput_cpu(benchmark):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: on a shared 2-core box more threads oversubscribe and crawl
    try:
        rate = benchmark.pedantic(_epoch_rate, args=("cpu",), rounds=1, iterations=1)
    finally:
        torch.set_num_threads(threads)
    benchmark.extra_info["train_nodes_per_s_cpu"] = rate
    assert rate > 0


@pytest.mark.gpu
def test_training_throughput_gpu(benchmark):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    rate = benchmark.pedantic(_epoch_rate, args=("cuda", 200_000, 5), rounds=1, iterations=1)
    benchmark.extra_info["train_nodes_per_s_gpu"] = rate
    assert rate > 0
