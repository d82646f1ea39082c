"""SON on the 8192-node torus, 1000 steps: stencil vs dense matrix, on the GPU and the host CPU.

Not a pytest file (no ``test_`` prefix): a standalone timing for a machine with a JAX GPU backend.
Run with ``PYTHONPATH=packages/core/src:packages/son-qttn/src python tests/benchmarks/son_qttn/son_device_timing.py``.
Prints one line per (device, method) with the median of 5 timed runs after a compile run, and
checks that the GPU stencil result equals the CPU one.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from labkit.son_qttn import SONParams, make_coupling, simulate_son

STEPS = int(os.environ.get("LABKIT_SON_BENCH_STEPS", "1000"))


def median_time(fn, repeats: int = 5) -> float:
    """Median wall time of ``fn`` after one untimed (compile) call."""
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def dense_runner(kd, omega: float, dt: float, n_steps: int):  # type: ignore[no-untyped-def]
    lap = kd - jnp.diag(kd.sum(1))

    @jax.jit
    def run(v):  # type: ignore[no-untyped-def]
        return jax.lax.scan(lambda x, _: (x + dt * (lap @ x - omega**2 * x), None), v, None, length=n_steps)[0]

    return run


def main() -> None:
    k = make_coupling("toroidal_8k", strength=0.5)
    p = SONParams(dt=0.05, omega=0.3)
    v0 = np.random.default_rng(0).standard_normal(k.shape).astype(np.float32)
    kd_np = k.dense().astype(np.float32)
    results = {}
    devices = [jax.devices("cpu")[0]] + ([jax.devices()[0]] if jax.default_backend() != "cpu" else [])
    for dev in devices:
        with jax.default_device(dev):
            v = jax.device_put(v0, dev)
            st = median_time(lambda v=v: simulate_son(v, k, p, STEPS)[0].block_until_ready())
            results[dev.platform] = np.asarray(simulate_son(v, k, p, STEPS)[0])
            run = dense_runner(jax.device_put(kd_np, dev), 0.3, 0.05, STEPS)
            x = jax.device_put(v0.ravel(), dev)
            dn = median_time(lambda run=run, x=x: run(x).block_until_ready(), repeats=2 if dev.platform == "cpu" else 5)
            print(f"{dev.platform} {dev.device_kind}: SON 8192 torus {STEPS} steps stencil {st * 1e3:.2f} ms, "
                  f"dense {dn * 1e3:.1f} ms, dense/stencil {dn / st:.0f}x", flush=True)
    if "gpu" in results:
        diff = np.max(np.abs(results["gpu"] - results["cpu"]))
        print(f"gpu vs cpu stencil result max abs diff {diff:.2e}")


if __name__ == "__main__":
    main()
