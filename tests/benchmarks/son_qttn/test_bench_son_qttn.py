"""SON on the 8192-node torus (stencil vs dense matrix) and TT-SVD vs tensorly at equal error.

Ratios are measured side by side in the same run. Smoke-run with ``--benchmark-disable`` (50 steps, ~25 s);
the README's figures: ``LABKIT_SON_BENCH_STEPS=1000 pytest tests/benchmarks/son_qttn --benchmark-min-rounds=3
--benchmark-max-time=0.5`` (~100 s on a 2-core CPU). GPU/CPU on one machine: ``son_device_timing.py``.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from labkit.son_qttn import SONParams, make_coupling, simulate_son
from labkit.son_qttn.tt import tt_svd

# 1000 steps (the figure): LABKIT_SON_BENCH_STEPS=1000; the default keeps the smoke run short
STEPS = int(os.environ.get("LABKIT_SON_BENCH_STEPS", "50"))


def _dense_runner(kd, omega, dt, n_steps):
    lap = kd - jnp.diag(kd.sum(1))

    @jax.jit
    def run(v):
        def body(x, _):
            return x + dt * (lap @ x - omega**2 * x), None

        return jax.lax.scan(body, v, None, length=n_steps)[0]

    return run


@pytest.fixture(scope="module")
def torus():
    k = make_coupling("toroidal_8k", strength=0.5)
    v0 = np.random.default_rng(0).standard_normal(k.shape).astype(np.float32)
    return k, v0


def test_son_stencil_8k(benchmark, torus):
    k, v0 = torus
    p = SONParams(dt=0.05, omega=0.3)
    run = lambda: simulate_son(v0, k, p, STEPS)[0].block_until_ready()  # noqa: E731
    run()  # compile outside the timing
    benchmark(run)


def test_son_dense_8k(benchmark, torus):
    k, v0 = torus
    kd = jnp.asarray(k.dense(), jnp.float32)  # 8192² float32 = 256 MiB: the baseline we avoid
    run_dense = _dense_runner(kd, 0.3, 0.05, STEPS)
    x = jnp.asarray(v0.ravel())
    out = run_dense(x).block_until_ready()
    ref = simulate_son(v0, k, SONParams(dt=0.05, omega=0.3), STEPS)[0]
    np.testing.assert_allclose(np.asarray(out).reshape(k.shape), np.asarray(ref), rtol=1e-3, atol=1e-4)
    benchmark.pedantic(lambda: run_dense(x).block_until_ready(), rounds=3, iterations=1)


def test_son_ratio_side_by_side(torus):
    """Stencil vs dense on the same machine in one run; prints the ratio."""
    from labkit.core import measure

    k, v0 = torus
    p = SONParams(dt=0.05, omega=0.3)
    steps = STEPS
    stencil = lambda: simulate_son(v0, k, p, steps)[0].block_until_ready()  # noqa: E731
    dense = _dense_runner(jnp.asarray(k.dense(), jnp.float32), 0.3, 0.05, steps)
    x = jnp.asarray(v0.ravel())
    t_s = measure(stencil, warmup=1, repeats=3).median
    t_d = measure(lambda: dense(x).block_until_ready(), warmup=1, repeats=2).median
    print(f"\nSON 8192-node torus, {steps} steps: stencil {t_s:.4f}s dense {t_d:.4f}s ratio {t_d / t_s:.1f}x ({jax.default_backend()})")
    assert t_s > 0 and t_d > 0


@pytest.fixture(scope="module")
def tensor_and_rank():
    rng = np.random.default_rng(0)
    a = np.einsum("ia,ja,ka,la->ijkl", *(rng.standard_normal((12, 6)) for _ in range(4)))
    a += 0.01 * np.linalg.norm(a) / a.size**0.5 * rng.standard_normal(a.shape)
    tt = tt_svd(a, tol=0.02)
    return a, tt


def test_ttsvd_ours(benchmark, tensor_and_rank):
    a, _ = tensor_and_rank
    benchmark(lambda: tt_svd(a, tol=0.02))


def test_ttsvd_tensorly_equal_ranks(benchmark, tensor_and_rank):
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import tensor_train

    a, tt = tensor_and_rank
    ours = np.linalg.norm(np.asarray(tt.full()) - a)
    theirs_tt = tensor_train(tl.tensor(a), rank=list(tt.ranks))
    theirs = np.linalg.norm(tl.tt_to_tensor(theirs_tt) - a)
    assert theirs == pytest.approx(ours, rel=1e-3)  # equal ranks -> equal error: a fair timing
    benchmark(lambda: tensor_train(tl.tensor(a), rank=list(tt.ranks)))


@pytest.mark.gpu
def test_son_stencil_8k_gpu(benchmark, torus):
    if jax.default_backend() != "gpu":
        pytest.skip("no JAX GPU backend")
    k, v0 = torus
    p = SONParams(dt=0.05, omega=0.3)
    run = lambda: simulate_son(v0, k, p, STEPS)[0].block_until_ready()  # noqa: E731
    run()
    benchmark(run)
