"""Strong scaling of ``nmr-fno:surrogate`` on 2 GPUs for the README (run on a 2-GPU host; prints one JSON object).

    python tests/benchmarks/nmr_fno/bench_scale_gpu.py RUNS_DIR [out.json]

Runs the ``scale`` preset twice with the same algorithm — one GPU accumulating 2 batches per step
(``--set accumulate=2``), then ``--nproc 2`` — and reports the data-generation and training-loop
seconds each run recorded after its start-up, the speed-ups, and the quality figures of both runs
(the simulated data must be identical: same sha256).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

root = Path(sys.argv[1])
base = [sys.executable, "-m", "labkit.core.cli", "run", "nmr-fno:surrogate", "--preset", "scale", "--device", "cuda"]
runs = {"1gpu": (["--set", "accumulate=2"], {"CUDA_VISIBLE_DEVICES": "0"}), "2gpu": (["--nproc", "2"], {})}
res: dict = {}
for name, (extra, env) in runs.items():
    out = root / name
    subprocess.run([*base, "--out", str(out), *extra], check=True, env={**os.environ, "LABKIT_PROGRESS": "0", **env})
    saved = json.loads((out / "results.json").read_text())["results"]
    with open(out / "history.csv") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    res[name] = {"data_seconds": saved["data"]["train_seconds"], "data_sha256": saved["data"]["sha256"],
                 "epoch_seconds_all": sum(seconds), "epoch_seconds_after_first": sum(seconds[1:]),
                 "train_call_seconds": saved["training"]["lines"]["loop_seconds"],
                 "final_train_loss": saved["training"]["lines"]["final_train_loss"], "accuracy": saved["accuracy"],
                 "coverage": saved["conformal"][0]["coverage"]}
one, two = res["1gpu"], res["2gpu"]
res["speedup"] = {k: one[k] / two[k] for k in ("data_seconds", "epoch_seconds_after_first", "epoch_seconds_all", "train_call_seconds")}
res["same_data"] = one["data_sha256"] == two["data_sha256"]
text = json.dumps(res, indent=1)
print(text)
if len(sys.argv) > 2:
    Path(sys.argv[2]).write_text(text)
