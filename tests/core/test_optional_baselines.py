"""Optional baselines: a flagship whose optional dependency is absent drops that baseline and says so."""

from __future__ import annotations

import json

import pytest

from labkit.core.devices import resolve_device


def test_missing_dependency_drops_the_baseline_and_reports_it(cli, tmp_path):
    info = cli("info", "toy", check=True).stdout
    assert "optional baseline exact: needs labkit_toy_exact (missing: this baseline is skipped)" in info
    cli("run", "toy:accumulate", "--preset", "quick", "--out", "r", "--device", "cpu", check=True)
    saved = json.loads((tmp_path / "r" / "results.json").read_text())
    assert saved["status"] == "completed" and saved["skipped_baselines"] == ["exact"]
    assert "exact_total" not in saved["results"]["headline"]
    first_lines = (tmp_path / "r" / "log.txt").read_text().splitlines()[:2]
    assert "baseline 'exact' skipped" in first_lines[1] and "labkit_toy_exact" in first_lines[1]


def test_installed_dependency_runs_the_baseline(cli, tmp_path):
    # the command runs in tmp_path with `python -m`, so a module there is importable
    (tmp_path / "labkit_toy_exact.py").write_text("def exact_total(xs):\n    return float(sum(xs))\n")
    proc = cli("info", "toy", check=True)
    assert "optional baseline exact: needs labkit_toy_exact (installed)" in proc.stdout
    cli("run", "toy:accumulate", "--preset", "quick", "--out", "r", "--device", "cpu", check=True)
    saved = json.loads((tmp_path / "r" / "results.json").read_text())
    assert saved["skipped_baselines"] == []
    headline = saved["results"]["headline"]
    assert headline["exact_total"] == pytest.approx(headline["total"])


def test_jax_experiments_resolve_their_device_through_jax_not_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("JAX sees a GPU here")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # torch sees a GPU, JAX does not
    assert resolve_device("auto") == "cuda"
    assert resolve_device("auto", framework="jax") == "cpu"
    from labkit.core import LabkitError

    with pytest.raises(LabkitError, match="JAX sees no CUDA GPU"):
        resolve_device("cuda", framework="jax")
