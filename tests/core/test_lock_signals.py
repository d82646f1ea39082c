"""With real processes: one run per folder (lock), SIGTERM/SIGINT end a run cleanly, timing across resumes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SLOW = ["toy:accumulate", "--set", "steps=400", "--set", "delay=0.05", "--seed", "3"]  # 20 s unless stopped


def _env(plugin_site: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(plugin_site), LABKIT_PROGRESS="0", LABKIT_PLUGINS="toy")


def _start(plugin_site: Path, cwd: Path, *args: str) -> subprocess.Popen[str]:
    # a suite started in the background (`cmd &` in a script) inherits SIGINT ignored, and Python keeps
    # it ignored: give the run the default disposition a user's terminal gives it
    return subprocess.Popen([sys.executable, "-m", "labkit.core.cli", "run", *args], cwd=cwd, env=_env(plugin_site),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _run(plugin_site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labkit.core.cli", "run", *args], cwd=cwd, env=_env(plugin_site),
                          capture_output=True, text=True, timeout=180)


def _wait_for_step(run: Path, proc: subprocess.Popen[str], step: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads((run / "checkpoints" / "acc" / "progress.json").read_text())["latest_step"] >= step:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    raise AssertionError(f"the run did not reach step {step}: {proc.poll()}")


def _files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file() and "checkpoints" not in p.parts
            and p.name not in ("progress.json", "log.txt")}


def test_a_live_run_locks_its_folder_and_a_killed_ones_lock_is_taken_over(plugin_site, with_plugins, tmp_path,
                                                                          monkeypatch, capsys):
    from labkit.core.cli import main

    monkeypatch.setenv("LABKIT_PLUGINS", "toy")
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "r"
    first = _start(plugin_site, tmp_path, *SLOW, "--out", "r")
    try:
        _wait_for_step(run, first, 2)
        config = (run / "config.json").read_bytes()
        for extra in ((), ("--resume",), ("--force",)):  # from this process: a second process on the same folder
            capsys.readouterr()
            assert main(["run", "toy:accumulate", "--set", "steps=3", "--out", "r", *extra]) == 2
            line = capsys.readouterr().err.strip()
            assert len(line.splitlines()) == 1 and "is in use by labkit process" in line, line
            assert f"process {first.pid} on host {socket.gethostname()}" in line
            assert (run / "config.json").read_bytes() == config and (run / "checkpoints").is_dir()
        assert first.poll() is None, "the first run must still be running (and holding the lock)"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    again = _run(plugin_site, tmp_path, "toy:accumulate", "--out", "r", "--force", "--set", "steps=3", "--set", "delay=0")
    assert again.returncode == 0, again.stderr
    assert f"taking over the lock of a run that ended without releasing it (labkit process {first.pid}" in again.stderr
    assert json.loads((run / "results.json").read_text())["results"]["headline"]["steps"] == 3


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_run_as_interrupted_without_traceback(plugin_site, tmp_path, sig):
    run = tmp_path / "r"
    proc = _start(plugin_site, tmp_path, *SLOW, "--out", "r")
    _wait_for_step(run, proc, 2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == (
        f"labkit: interrupted by {signal.Signals(sig).name}; rerun with --resume to continue")
    progress = json.loads((run / "progress.json").read_text())
    assert progress["status"] == "interrupted" and signal.Signals(sig).name in progress["error"]
    assert not (run / "results.json").exists()
    assert not [p for p in run.rglob("*.tmp")]
    resumed = _start(plugin_site, tmp_path, "toy:accumulate", "--out", "r", "--resume")
    stopped_at = json.loads((run / "checkpoints" / "acc" / "progress.json").read_text())["latest_step"]
    _wait_for_step(run, resumed, stopped_at + 1)  # it continues where it stopped
    resumed.send_signal(signal.SIGTERM)
    assert resumed.wait(timeout=60) == 128 + signal.SIGTERM


def test_wall_time_adds_up_across_resumed_sessions(plugin_site, tmp_path):
    steps, delay = 30, 0.05
    args = ["toy:accumulate", "--set", f"steps={steps}", "--set", f"delay={delay}", "--out", "r"]
    run = tmp_path / "r"
    proc = _start(plugin_site, tmp_path, *args)
    _wait_for_step(run, proc, 20)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = _run(plugin_site, tmp_path, "toy:accumulate", "--out", "r", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    wall = json.loads((run / "results.json").read_text())["wall_time_s"]
    # the work of both sessions: at least the sleeps of all 30 steps (the second session alone slept <= 10)
    assert wall >= steps * delay * 0.95, wall


def test_a_failing_experiment_prints_its_traceback_once(plugin_site, tmp_path):
    failed = _run(plugin_site, tmp_path, "toy:fails", "--out", "f")
    assert failed.returncode == 1
    assert failed.stderr.count("Traceback (most recent call last)") == 1, failed.stderr
    assert "deliberate failure" in (tmp_path / "f" / "log.txt").read_text()
    assert json.loads((tmp_path / "f" / "progress.json").read_text())["status"] == "failed"
