"""FID surrogate and batched simulation timings for the README (run on a GPU host; prints one JSON object).

    python tests/benchmarks/nmr_fno/bench_fid_gpu.py [out.json]

- CPU, one thread, batch 1, N = 10: exact block method (Mx, My only) vs the shipped surrogate;
- CUDA, N = 10, batch 64 and 256: simulate_batch with eigh on the GPU (torch) and on a CPU thread
  pool, and the surrogate, per trajectory; results of the two eigh routes compared.
"""

from __future__ import annotations

import json
import os
import sys

import torch

from labkit.core import measure
from labkit.nmr_fno.batch import simulate_batch
from labkit.nmr_fno.fid_surrogate import FIDSurrogate
from labkit.nmr_fno.simulate import simulate
from labkit.nmr_fno.task import TASK_TIMES, task_systems

OBS = ("Mx", "My")
res: dict = {"cpu_count": os.cpu_count(), "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
sur = FIDSurrogate.pretrained()
systems = task_systems(10, 256, seed=12345)
ex = [measure(simulate, s, TASK_TIMES, "exact", OBS, warmup=1, repeats=5, threads=1).median for s in systems[:3]]
su = [measure(sur.predict, [s], check_range=False, warmup=3, repeats=30, threads=1).median for s in systems[:3]]
res["cpu1_b1"] = {"exact_s": ex, "surrogate_s": su, "speedup": [a / b for a, b in zip(ex, su, strict=True)]}
if torch.cuda.is_available():
    gpu = FIDSurrogate.from_state_dict(sur.state_dict())
    gpu.model.to("cuda")
    for b in (64, 256):
        row = {}
        for mode in ("device", "cpu-pool"):
            row[f"exact_{mode}_s_per_traj"] = measure(simulate_batch, systems[:b], TASK_TIMES, device="cuda", observables=OBS,
                                                      eigh=mode, warmup=1, repeats=3, sync="cuda").median / b
        a = simulate_batch(systems[:b], TASK_TIMES, device="cuda", observables=OBS)
        c = simulate_batch(systems[:b], TASK_TIMES, device="cuda", observables=OBS, eigh="cpu-pool")
        row["max_abs_diff_routes"] = max(float((a[k] - c[k]).abs().max()) for k in a)
        row["surrogate_s_per_traj"] = measure(gpu.predict, systems[:b], check_range=False, warmup=2, repeats=5, sync="cuda").median / b
        row["speedup_vs_device_eigh"] = row["exact_device_s_per_traj"] / row["surrogate_s_per_traj"]
        row["speedup_vs_best_exact"] = min(row["exact_device_s_per_traj"], row["exact_cpu-pool_s_per_traj"]) / row["surrogate_s_per_traj"]
        res[f"cuda_b{b}"] = row
print(json.dumps(res, indent=1, default=float))
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as fh:
        json.dump(res, fh, indent=1, default=float)
