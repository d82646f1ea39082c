"""Time to target of ``nmr-fno:surrogate`` on 1 and 2 GPUs at equal quality, over seeds (prints one JSON object).

    python tests/benchmarks/nmr_fno/bench_time_to_target_gpu.py RUNS_DIR OUT.json --phase one|two
        [--seeds 0,1,2] [--lr-two 2.83e-3] [--pair] [--device cuda] [--preset P] [--set KEY=VALUE ...]

The default preset (or ``--set`` overrides of it) trained to the end of its schedule: ``--phase one``
runs each seed on one GPU (``--pair``: two seeds at a time, on GPUs 0 and 1, each alone on its GPU);
``--phase two`` runs each seed with ``--nproc 2`` (global batch doubled, half the steps per epoch, the
peak learning rate ``--lr-two``, by default sqrt 2 times that of the phase-one runs in OUT.json). Each call adds its runs to OUT.json, so the
phases can be separate calls. The summary compares the 2-process runs' held-out median relative L2 of
the first kind, per N, with the spread (min-max) of the one-GPU seeds, and reports the speed-up of the
median training-loop time (``training.<kind>.loop_seconds``, after process, CUDA and NCCL start-up) and
of the data generation. A 2-GPU run that is inside or better than the spread reaches the one-GPU
target, so its whole training loop is its time to that target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("root", type=Path)
parser.add_argument("out", type=Path)
parser.add_argument("--phase", choices=("one", "two"), required=True)
parser.add_argument("--seeds", default="0,1,2")
parser.add_argument("--lr-two", type=float, default=0.0, help="peak lr of the 2-process runs (default: sqrt 2 x phase one's)")
parser.add_argument("--pair", action="store_true")
parser.add_argument("--device", default="cuda")
parser.add_argument("--preset", default="", help="a preset instead of the defaults (a smoke test on the CPU: quick)")
parser.add_argument("--set", dest="overrides", action="append", default=[])
args = parser.parse_args()

base = [sys.executable, "-m", "labkit.core.cli", "run", "nmr-fno:surrogate", "--device", args.device]
if args.preset:
    base += ["--preset", args.preset]
for item in args.overrides:
    base += ["--set", item]
env = {**os.environ, "LABKIT_PROGRESS": "0"}


def command(seed: int) -> tuple[list[str], dict[str, str]]:
    out = args.root / f"{args.phase}-seed{seed}"
    cmd = [*base, "--seed", str(seed), "--out", str(out)]
    if args.phase == "two":
        return [*cmd, "--nproc", "2", "--set", f"lr={args.lr_two}"], env
    return cmd, env


def record(seed: int) -> dict:
    saved = json.loads((args.root / f"{args.phase}-seed{seed}" / "results.json").read_text())
    res = saved["results"]
    first = saved["config"]["kinds"][0]
    return {"seed": seed, "lr": saved["config"]["lr"], "world_size": saved["world_size"],
            "loop_seconds": res["training"][first]["loop_seconds"],
            "epoch_seconds": res["training"][first]["epoch_seconds"],
            "final_train_loss": res["training"][first]["final_train_loss"],
            "data_seconds": res["data"]["train_seconds"], "data_sha256": res["data"]["sha256"],
            "median_rel_l2": {str(row["n_spins"]): row[f"{first}_median"] for row in res["accuracy"]},
            "coverage": {str(b["n_spins"]): b["coverage"] for b in res["conformal"]}}


seeds = [int(s) for s in args.seeds.split(",")]
results = json.loads(args.out.read_text()) if args.out.exists() else {"runs": {"one": [], "two": []}}
if args.phase == "two" and not args.lr_two:
    if not results["runs"]["one"]:
        raise SystemExit("--lr-two: give it, or run --phase one into the same OUT.json first")
    args.lr_two = results["runs"]["one"][0]["lr"] * 2 ** 0.5
t0 = time.perf_counter()
if args.phase == "one" and args.pair:
    for i in range(0, len(seeds), 2):
        procs = []
        for gpu, seed in enumerate(seeds[i:i + 2]):
            cmd, run_env = command(seed)
            procs.append(subprocess.Popen(cmd, env={**run_env, "CUDA_VISIBLE_DEVICES": str(gpu)}))
        if any(p.wait() for p in procs):
            raise SystemExit("a one-GPU run failed")
else:
    for seed in seeds:
        cmd, run_env = command(seed)
        gpu_env = {"CUDA_VISIBLE_DEVICES": "0"} if args.phase == "one" else {}
        subprocess.run(cmd, env={**run_env, **gpu_env}, check=True)
results["runs"][args.phase] += [{**record(s), "paired": args.pair and args.phase == "one"} for s in seeds]
results.setdefault("commands", {})[args.phase] = " ".join(command(seeds[0])[0][1:]).replace(str(args.root), "RUNS")
one, two = results["runs"]["one"], results["runs"]["two"]
if one and two:
    spread = {n: (min(r["median_rel_l2"][n] for r in one), max(r["median_rel_l2"][n] for r in one))
              for n in one[0]["median_rel_l2"]}
    results["summary"] = {
        "one_gpu_spread": spread,
        "two_gpu_at_target": all(r["median_rel_l2"][n] <= spread[n][1] for r in two for n in spread),
        "two_gpu_inside_spread": all(spread[n][0] <= r["median_rel_l2"][n] <= spread[n][1] for r in two for n in spread),
        "speedup_loop": statistics.median(r["loop_seconds"] for r in one) / statistics.median(r["loop_seconds"] for r in two),
        "speedup_data": statistics.median(r["data_seconds"] for r in one) / statistics.median(r["data_seconds"] for r in two),
        "same_data": len({r["data_sha256"] for r in one + two if r["seed"] == one[0]["seed"]}) == 1}
results["seconds_this_call"] = time.perf_counter() - t0
text = json.dumps(results, indent=1)
print(text)
args.out.write_text(text)
