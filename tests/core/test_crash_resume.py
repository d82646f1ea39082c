"""Crash safety: SIGKILL a running experiment at random moments, resume, get the uninterrupted result."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ARGS = ["toy:accumulate", "--set", "steps=30", "--set", "delay=0.02", "--seed", "7"]
KILLS = 4


def _start(plugin_site: Path, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(plugin_site), LABKIT_PROGRESS="0", LABKIT_PLUGINS="toy")
    return subprocess.Popen([sys.executable, "-m", "labkit.core.cli", "run", *ARGS, *extra], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _latest_step(run: Path) -> int:
    try:
        return json.loads((run / "checkpoints" / "acc" / "progress.json").read_text())["latest_step"]
    except (OSError, ValueError, KeyError):
        return 0


def test_sigkill_at_random_moments_then_resume_matches_uninterrupted_run(plugin_site, tmp_path):
    reference = _start(plugin_site, tmp_path, "--out", "ref")
    assert reference.wait(timeout=180) == 0, reference.stderr.read()
    expected = json.loads((tmp_path / "ref" / "results.json").read_text())["results"]

    rng = random.Random(1234)
    run = tmp_path / "crashy"
    proc = _start(plugin_site, tmp_path, "--out", "crashy")
    steps_at_kill = []
    for attempt in range(KILLS):
        # wait until this process has made progress, then kill it at a random moment within a step
        # (during the step's work, a checkpoint write, or between them); the first kill hits start-up
        seen = _latest_step(run)
        deadline = time.monotonic() + 120
        while attempt > 0 and _latest_step(run) == seen and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.03))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        steps_at_kill.append(_latest_step(run))
        # a kill before the run wrote its config leaves no run to resume: start it again, as a user would
        proc = _start(plugin_site, tmp_path, "--out", "crashy", *(["--resume"] if (run / "config.json").exists() else []))
    assert proc.wait(timeout=180) == 0, proc.stderr.read()
    assert len(steps_at_kill) >= 3, f"the run finished before enough kills: {steps_at_kill}"
    got = json.loads((run / "results.json").read_text())["results"]
    assert got == expected
