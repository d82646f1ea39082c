"""Device-machine run (script, not a pytest file): GPU batched path, N = 14/16 completion, LAPACK drivers.

Usage: python tests/benchmarks/nmr_fno/bench_classical_gpu.py OUT.json
Times come from labkit.core.measure (warm-ups, median + IQR; CUDA synchronised around each call).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np
import torch

from labkit.core import measure
from labkit.nmr_fno import default_times, random_system, simulate, simulate_batch

OBS = ("Mx", "My")
out: dict = {"host": platform.node(), "cpus": os.cpu_count(), "torch": torch.__version__}
path = sys.argv[1]


def save() -> None:
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)


def stamp(key: str, value) -> None:
    out[key] = value
    print(key, value, flush=True)
    save()


t = default_times()
cuda = torch.cuda.is_available()
stamp("gpu", torch.cuda.get_device_name(0) if cuda else None)
# correctness on the GPU: batch of N=8 against the numpy block method
systems = [random_system(8, "random", seed=s) for s in range(8)]
g = simulate_batch(systems, t, device="cuda" if cuda else "cpu", observables=OBS)
err = max(float(np.abs(g["Mx"][i].cpu().numpy() - simulate(s, t, "exact", OBS)["Mx"]).max()) for i, s in enumerate(systems))
stamp("gpu_vs_cpu_exact_max_abs_err_N8", err)

# CPU block method on the device host: threads 1 and all, and the LAPACK drivers at N=12
for n in (10, 12):
    s = random_system(n, "random", seed=0)
    for th in (1, os.cpu_count()):
        r = measure(simulate, s, t, "exact", OBS, warmup=1, repeats=5, threads=th)
        stamp(f"cpu_exact_N{n}_threads{th}", r.as_dict())
s12 = random_system(12, "random", seed=0)
for drv in ("numpy", "evd", "evr"):
    r = measure(simulate, s12, t, "exact", OBS, warmup=1, repeats=3, threads=os.cpu_count(), eigh_driver=drv)
    stamp(f"cpu_exact_N12_driver_{drv}", r.as_dict())

if cuda:
    for n, batch in ((8, 512), (10, 64), (12, 8)):
        sy = [random_system(n, "random", seed=s) for s in range(batch)]
        for dt in (torch.float64, torch.float32):
            r = measure(simulate_batch, sy, t, device="cuda", observables=OBS, dtype=dt, warmup=1, repeats=3, sync="cuda")
            stamp(f"gpu_batch_N{n}_B{batch}_{str(dt)[6:]}_s_per_traj", r.median / batch)
    for n in (12, 14):
        r = measure(simulate_batch, [random_system(n, "random", seed=0)], t, device="cuda", observables=OBS,
                    warmup=1, repeats=3, sync="cuda")
        stamp(f"gpu_single_N{n}_float64", r.as_dict())
    t0 = time.perf_counter()
    s16 = random_system(16, "random", seed=0)
    res16 = simulate_batch([s16], t, device="cuda", observables=OBS)
    torch.cuda.synchronize()
    stamp("gpu_single_N16_float64_s", time.perf_counter() - t0)
    stamp("gpu_N16_Mx0_Mx_last", [float(res16["Mx"][0, 0]), float(res16["Mx"][0, -1])])
    stamp("gpu_N16_peak_mem_GiB", torch.cuda.max_memory_allocated() / 2**30)

s14 = random_system(14, "random", seed=0)
t0 = time.perf_counter()
r14 = simulate(s14, t, "exact", OBS)
stamp(f"cpu_exact_N14_threads{os.cpu_count()}_s", time.perf_counter() - t0)
if cuda:
    g14 = simulate_batch([s14], t, device="cuda", observables=OBS)
    stamp("N14_gpu_vs_cpu_max_abs_err", float(np.abs(g14["Mx"][0].cpu().numpy() - r14["Mx"]).max()))
