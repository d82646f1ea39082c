"""FID surrogate and batched simulation timings for the README (run on a GPU host; prints one JSON object).

    python tests/benchmarks/nmr_fno/bench_fid_gpu.py [out.json] [--quick]

- CPU, one thread, batch 1, N = 10: exact block method (Mx, My only, 512-point task grid) vs the
  shipped surrogate (its CPU predict path), three systems, in this process;
- CUDA, N = 10, batch 64 and 256: simulate_batch with every eigh route (torch on the GPU, a CPU
  thread pool, cuSOLVER's batched call), per trajectory, results compared route against route;
  the surrogate on the GPU, per trajectory (CUDA-graph replay, the default, and eager kernels), its
  outputs compared with the CPU path's; the eigh stage alone per route.
``--quick``: the CUDA part with the ``batched`` route only (no per-route eigh timings).
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch

from labkit.core import measure
from labkit.nmr_fno.batch import EIGH_MODES, _sector_h, _structure, _unpack, params_to_tensor, simulate_batch
from labkit.nmr_fno.fid_surrogate import FIDSurrogate
from labkit.nmr_fno.simulate import simulate
from labkit.nmr_fno.task import TASK_TIMES, task_systems

OBS = ("Mx", "My")
res: dict = {"cpu_count": os.cpu_count(), "torch": torch.__version__,
             "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
args = [a for a in sys.argv[1:] if a != "--quick"]
quick = "--quick" in sys.argv[1:]
out_path = args[0] if args else None
res["quick"] = quick


def save() -> None:
    print(json.dumps(res, indent=1, default=float), flush=True)
    if out_path:
        with open(out_path, "w") as fh:
            json.dump(res, fh, indent=1, default=float)


sur = FIDSurrogate.pretrained()
systems = task_systems(10, 256, seed=12345)
ex = [measure(simulate, s, TASK_TIMES, "exact", OBS, warmup=1, repeats=7, threads=1).median for s in systems[:3]]
su = [measure(sur.predict, [s], check_range=False, warmup=5, repeats=50, threads=1).median for s in systems[:3]]
res["cpu1_b1"] = {"exact_s": ex, "surrogate_s": su, "speedup": [a / b for a, b in zip(ex, su, strict=True)]}
save()
if torch.cuda.is_available():
    from labkit.nmr_fno.cusolver_eigh import batched_eigh_available

    res["batched_eigh_available"] = batched_eigh_available()
    modes = [m for m in EIGH_MODES if m != "batched" or res["batched_eigh_available"][0]]
    if quick:
        modes = [m for m in modes if m == "batched"] or modes
    gpu = FIDSurrogate.from_state_dict(sur.state_dict())
    gpu.model.to("cuda")
    for b in (64, 256):
        row: dict = {}
        outs = {}
        for mode in modes:
            try:
                t = measure(simulate_batch, systems[:b], TASK_TIMES, device="cuda", observables=OBS, eigh=mode,
                            warmup=1, repeats=3, sync="cuda").median
                row[f"exact_{mode}_s_per_traj"] = t / b
                outs[mode] = simulate_batch(systems[:b], TASK_TIMES, device="cuda", observables=OBS, eigh=mode)
            except Exception as exc:  # a route that fails here is reported, not fatal
                row[f"exact_{mode}_error"] = f"{type(exc).__name__}: {exc}"
        ref = outs.get("device")
        for mode, o in outs.items():
            if ref is not None and mode != "device":
                row[f"max_abs_diff_{mode}_vs_device"] = max(float((o[k] - ref[k]).abs().max()) for k in o)
        # the eigh stage alone, per route (sector blocks built once on the GPU)
        p, n = params_to_tensor(systems[:b])
        nu, jm = _unpack(p.to("cuda"), n)
        blocks = [_sector_h(nu, jm, st) for st in _structure(n)]
        from labkit.nmr_fno import batch as batch_mod

        stages = {"device": lambda bl: [torch.linalg.eigh(h) for h in bl], "cpu-pool": lambda bl: batch_mod._eigh_pool(bl, None),
                  "batched": batch_mod._eigh_batched}
        for mode, fn in stages.items():
            if quick or mode not in modes:
                continue
            try:
                row[f"eigh_only_{mode}_s_per_traj"] = measure(fn, blocks, warmup=1, repeats=3, sync="cuda").median / b
            except Exception as exc:
                row[f"eigh_only_{mode}_error"] = f"{type(exc).__name__}: {exc}"
        # the surrogate: CUDA-graph replay (default; captured on the second call of a shape), then eager kernels
        gpu.cuda_graphs = True
        row["surrogate_s_per_traj"] = measure(gpu.predict, systems[:b], check_range=False, warmup=3, repeats=20, sync="cuda").median / b
        row["surrogate_graphs_held"], row["surrogate_graph_failure"] = gpu._replay.graphs, gpu._replay.failed
        graph_out = gpu.predict(systems[:b], check_range=False)
        gpu.cuda_graphs = False
        row["surrogate_eager_s_per_traj"] = measure(gpu.predict, systems[:b], check_range=False, warmup=2, repeats=10, sync="cuda").median / b
        eager_out = gpu.predict(systems[:b], check_range=False)
        gpu.cuda_graphs = True
        cpu_out = sur.predict(systems[:b], check_range=False)  # the NumPy engine on the CPU
        row["surrogate_max_abs_diff_graph_vs_eager"] = max(float(abs(graph_out[k] - eager_out[k]).max()) for k in ("Mx", "My", "I1z"))
        row["surrogate_max_abs_diff_gpu_vs_cpu"] = {k: float(abs(graph_out[k] - cpu_out[k]).max()) for k in ("Mx", "My", "I1z")}
        times = {m: row[f"exact_{m}_s_per_traj"] for m in modes if f"exact_{m}_s_per_traj" in row}
        if "device" in times:
            row["speedup_vs_device_eigh"] = times["device"] / row["surrogate_s_per_traj"]
        row["best_exact_route"] = min(times, key=times.get)
        row["speedup_vs_best_exact"] = min(times.values()) / row["surrogate_s_per_traj"]
        row["speedup_eager_vs_best_exact"] = min(times.values()) / row["surrogate_eager_s_per_traj"]
        if "device" in times:
            row["best_exact_vs_device_eigh"] = times["device"] / min(times.values())
        res[f"cuda_b{b}"] = row
        save()
res["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
save()
