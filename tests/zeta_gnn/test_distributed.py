"""zeta-gnn:train on several processes (gloo, CPU): the same trajectory as one process accumulating, resumable.

Each run is a real ``labkit`` command in fresh processes: ``--nproc K`` (torch's launcher), two
launcher invocations as two "nodes" on one machine, a rank killed with SIGKILL, then ``--resume``.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch.distributed")

# 5 batches of 2 contiguous clusters: uneven for 2 and for 3 processes (a rank idles in the last step)
SETTINGS = ["n_zeros=600", "predict_k=10", "epochs=3", "hidden=16", "batching=contiguous", "n_parts=10",
            "clusters_per_batch=2", "threads=1", "checkpoint_every=1", "lr=0.01"]
N_TRAIN = 480  # 80% of 600: every training node once per epoch
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", LABKIT_PROGRESS="0")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("zeros-cache"))


def _args(out: Path, cache: str, *extra: str, settings: list[str] = SETTINGS) -> list[str]:
    sets = [a for s in [*settings, f"cache_dir={cache}"] for a in ("--set", s)]
    return ["run", "zeta-gnn:train", "--out", str(out), "--device", "cpu", *sets, *extra]


def _labkit(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labkit.core.cli", *args], env=ENV, capture_output=True, text=True,
                          timeout=600, **kw)


def _one_process(out: Path, cache: str, accumulate: int, settings: list[str] = SETTINGS) -> Path:
    """The one-process reference, in this process (cheaper than a fresh one: torch is loaded)."""
    from labkit.core import PluginRegistry
    from labkit.core.runner import run_experiment

    run_experiment(PluginRegistry.discover(), "zeta-gnn:train", out_dir=out, device="cpu", echo=False,
                   overrides=[*settings, f"cache_dir={cache}", f"accumulate={accumulate}"])
    return out


def _ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stderr[-4000:]


def _history(out: Path) -> list[dict[str, float]]:
    with open(out / "history.csv") as f:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]


def _same_trajectory(a: Path, b: Path) -> None:
    ha, hb = _history(a), _history(b)
    assert len(ha) == len(hb) > 0
    for ra, rb in zip(ha, hb, strict=True):
        assert ra["nodes"] == rb["nodes"] == N_TRAIN  # no batch dropped
        assert rb["train_loss"] == pytest.approx(ra["train_loss"], rel=1e-5)
        assert rb["val_loss"] == pytest.approx(ra["val_loss"], rel=1e-5)
    ma = json.loads((a / "results.json").read_text())["results"]["metrics"]
    mb = json.loads((b / "results.json").read_text())["results"]["metrics"]
    assert mb["test_model_rmse"] == pytest.approx(ma["test_model_rmse"], rel=1e-4)


@pytest.fixture(scope="module")
def accumulate2(tmp_path_factory: pytest.TempPathFactory, cache: str) -> Path:
    return _one_process(tmp_path_factory.mktemp("acc") / "run", cache, 2)


def test_two_processes_follow_one_accumulating(accumulate2: Path, tmp_path: Path, cache: str) -> None:
    out = tmp_path / "nproc2"
    _ok(_labkit(_args(out, cache, "--nproc", "2")))
    _same_trajectory(accumulate2, out)
    assert json.loads((out / "results.json").read_text())["world_size"] == 2
    assert json.loads((accumulate2 / "results.json").read_text())["world_size"] == 1
    assert "train_loss" in (out / "history.csv").read_text().splitlines()[0]
    # rank 0 alone wrote the folder: every file is in its manifest, no file of another rank
    marker = json.loads((out / ".labkit-run").read_text())
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written - {".labkit-run", ".labkit-lock"} <= set(marker["paths"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_of_one_process(accumulate2: Path, tmp_path: Path, cache: str) -> None:
    out, port = tmp_path / "nodes", _free_port()
    nodes = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
                               "--node-rank", str(rank), "--master-addr", "127.0.0.1", "--master-port", str(port),
                               "-m", "labkit.core.cli", *_args(out, cache)],
                              env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in (0, 1)]
    for node in nodes:
        _, err = node.communicate(timeout=600)
        assert node.returncode == 0, err[-4000:]
    _same_trajectory(accumulate2, out)
    assert json.loads((out / "results.json").read_text())["world_size"] == 2


def test_three_processes_drop_no_batch(tmp_path: Path, cache: str) -> None:
    one, three = tmp_path / "acc3", tmp_path / "nproc3"
    _one_process(one, cache, 3)
    _ok(_labkit(_args(three, cache, "--nproc", "3")))
    _same_trajectory(one, three)


def _rank_pid(parent: int, rank: int) -> int | None:
    """The pid of the worker with RANK=rank among the children of ``parent`` (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and f"RANK={rank}".encode() in env:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process through /proc")
def test_killed_rank_fails_the_run_and_resume_completes_it(tmp_path: Path, cache: str) -> None:
    settings = [s for s in SETTINGS if not s.startswith(("epochs=", "lr="))] + ["epochs=30"]
    out, reference = tmp_path / "killed", tmp_path / "reference"
    launcher = subprocess.Popen([sys.executable, "-m", "labkit.core.cli", *_args(out, cache, "--nproc", "2",
                                                                                   settings=settings)],
                                env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, pid = time.monotonic() + 300, None
    while pid is None or not (out / "checkpoints" / "train" / "step-0000000002.ckpt").exists():
        assert launcher.poll() is None and time.monotonic() < deadline, launcher.communicate()[1][-4000:]
        pid = pid or _rank_pid(launcher.pid, 1)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    _, err = launcher.communicate(timeout=300)
    assert launcher.returncode == 1
    assert "rank 1" in err and "SIGKILL" in err and "--resume" in err
    progress = json.loads((out / "progress.json").read_text())
    assert progress["status"] == "failed" and "rank 1" in progress["error"]
    assert not (out / "results.json").exists()
    # another process count would change the algorithm: refused before anything starts
    other = _labkit(_args(out, cache, "--resume", "--nproc", "3", settings=settings))
    assert other.returncode == 2 and "started on 2" in other.stderr and len(other.stderr.strip().splitlines()) == 1
    _ok(_labkit(_args(out, cache, "--resume", "--nproc", "2", settings=settings)))
    _one_process(reference, cache, 2, settings)
    _same_trajectory(reference, out)


def test_refusals_come_once_before_any_process(tmp_path: Path, cache: str) -> None:
    out = tmp_path / "full"
    full = [s for s in SETTINGS if not s.startswith(("batching", "n_parts", "clusters"))]
    proc = _labkit(_args(out, cache, "--nproc", "2", settings=full))
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "batching" in proc.stderr
    proc = _labkit(_args(out, cache, "--nproc", "0"))
    assert proc.returncode == 2 and "--nproc" in proc.stderr and not out.exists()
    # an experiment that runs in one process refuses several
    proc = _labkit(["run", "zeta-gnn:statistics", "--out", str(out), "--nproc", "2"])
    assert proc.returncode == 2 and "one process" in proc.stderr and not out.exists()


def test_info_says_how_to_scale_out() -> None:
    out = _labkit(["info", "zeta-gnn"]).stdout
    train, others = out.split("zeta-gnn:train", 1)[1], out.split("zeta-gnn:train", 1)[0]
    assert "--nproc K" in train and "torchrun" in train and "accumulate" in train
    assert "processes: one" in others  # statistics runs in one process
