"""Sharded, resumable dataset generation: content, rank splits, and SIGKILL at random moments + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from labkit.nmr_fno import DatasetPart, generate_dataset, load_dataset, random_system, simulate
from labkit.nmr_fno.dataset import plan_mix


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # small matrices on a shared 2-core machine: multi-threaded BLAS only spins (10x the CPU time)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield

PARTS = [DatasetPart(5, 14, method="exact"), DatasetPart(7, 10, topology="star")]


def _same(a: dict[int, dict[str, np.ndarray]], b: dict[int, dict[str, np.ndarray]]) -> None:
    assert sorted(a) == sorted(b)
    for n in a:
        assert sorted(a[n]) == sorted(b[n])
        for k in a[n]:
            np.testing.assert_array_equal(a[n][k], b[n][k], err_msg=f"N={n} {k}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, np.ndarray]]:
    d = tmp_path_factory.mktemp("ref")
    generate_dataset(d, PARTS, seed=3, shard_size=4, checkpoint_every=1, progress=False)
    return load_dataset(d)


def test_content_format_and_physics(reference: dict[int, dict[str, np.ndarray]], tmp_path: Path) -> None:
    assert reference[5]["params"].shape == (14, 15) and reference[7]["Mx"].shape == (10, 300)
    assert list(reference[5]["sample_index"]) == list(range(14))
    assert set(reference[7]["topology"]) == {"star"}
    assert list(reference[5]["topology"][:4]) == ["chain", "ring", "star", "random"]
    np.testing.assert_allclose(reference[5]["Mx"][:, 0], 1.0, atol=1e-12)
    # a stored trajectory is the simulation of its stored parameters
    from labkit.nmr_fno import SpinSystem

    sys5 = SpinSystem.from_vector(reference[5]["params"][6])
    np.testing.assert_allclose(simulate(sys5)["My"], reference[5]["My"][6], atol=1e-12)


def test_rank_split_gives_same_dataset(reference: dict[int, dict[str, np.ndarray]], tmp_path: Path) -> None:
    for rank in (1, 0):  # any order; the last rank to finish writes the manifest
        m = generate_dataset(tmp_path, PARTS, seed=3, shard_size=4, checkpoint_every=1, rank=rank, world_size=2,
                             progress=False)
    assert (tmp_path / "manifest.json").exists() and len(m["shards"]) == 4 + 3
    prog = json.loads((tmp_path / "progress_rank1.json").read_text())
    assert sum(v["total"] for v in prog.values()) + sum(
        v["total"] for v in json.loads((tmp_path / "progress_rank0.json").read_text()).values()) == 24
    _same(load_dataset(tmp_path), reference)


def test_sigkill_at_random_moments_then_resume_is_identical(reference, tmp_path: Path) -> None:
    code = (
        "from labkit.nmr_fno.dataset import DatasetPart, generate_dataset\n"
        f"generate_dataset({str(tmp_path)!r}, [DatasetPart(5, 14, method='exact'), DatasetPart(7, 10, topology='star')],"
        " seed=3, shard_size=4, checkpoint_every=1, progress=False)\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    rng = np.random.default_rng(1)
    kills = 0
    seen: list[str] = []
    for _attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", code], env=env)
        start = time.monotonic()
        # once this run has written something new, kill it at a random moment soon after
        while proc.poll() is None and time.monotonic() - start < 60:
            files = sorted(str(p.relative_to(tmp_path)) + str(p.stat().st_mtime_ns) for p in tmp_path.rglob("*.npz"))
            if files != seen:
                break
            time.sleep(0.002)
        # the whole generation takes well under a second on an idle machine: kill within a sample or two
        time.sleep(rng.uniform(0.0, 0.01))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        seen = sorted(str(p.relative_to(tmp_path)) + str(p.stat().st_mtime_ns) for p in tmp_path.rglob("*.npz"))
        assert not (tmp_path / "manifest.json").exists() or kills < 3
    assert kills >= 2, "the generation finished before it could be killed twice"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)  # resume to the end
    assert (tmp_path / "manifest.json").exists()
    _same(load_dataset(tmp_path), reference)


def test_plan_mix_and_bad_parts() -> None:
    equal = plan_mix([4, 6, 8], 30)
    assert [p.count for p in equal] == [10, 10, 10]
    cheap_heavy = plan_mix([4, 6, 8], 300, cost_exponent=1.0)
    assert cheap_heavy[0].count > cheap_heavy[1].count > cheap_heavy[2].count >= 1
    with pytest.raises(ValueError, match="topology"):
        DatasetPart(4, 10, topology="cube")
    with pytest.raises(ValueError, match="method"):
        DatasetPart(4, 10, method="spinach")
    with pytest.raises(ValueError, match="rank"):
        generate_dataset("/tmp/unused-nmr", [DatasetPart(3, 1)], rank=2, world_size=2, progress=False)
    assert random_system(3, seed=0).n_spins == 3
