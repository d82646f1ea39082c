"""labkit-qimad as a labkit plugin: registration, light imports, the compare experiment and its resume."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

core = pytest.importorskip("labkit.core")


def test_registry_offers_optimizer_and_flagship():
    import torch

    from labkit.core.plugins import PluginRegistry
    from labkit.qimad import QIMADTorch

    registry = PluginRegistry.discover()
    assert registry.plugins["qimad"].ok, registry.plugins["qimad"].error
    factory = registry.resolve("labkit_optimizers", "qimad")
    opt = factory(torch.nn.Linear(3, 1).parameters(), lr=0.02, seed=4, total_steps=7, num_agents=5)
    assert isinstance(opt, QIMADTorch) and opt.defaults["eta"] == 0.02 and opt.num_agents == 5
    with pytest.raises(ValueError, match="weight_decay: QIMAD has no weight decay"):
        factory(torch.nn.Linear(3, 1).parameters(), lr=0.02, weight_decay=1e-5)
    assert registry.flagships()["qimad"].experiment.name == "compare"


def test_package_does_not_import_core():
    code = "import sys, labkit.qimad, labkit.qimad.study; assert 'labkit.core' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_config_names_the_field(labkit_run):
    with pytest.raises(core.ConfigError, match="problems"):
        labkit_run("qimad:compare", preset="quick", overrides={"problems": ["sphere"]})


def test_compare_quick_preset(labkit_run, tmp_path):
    out = tmp_path / "quick"
    results = labkit_run("qimad:compare", preset="quick", out_dir=out)
    head = results["headline"]
    assert {"rastrigin qimad", "ackley qimad", "digits qimad"} <= set(head)
    assert head["qimad wins"].endswith("/3")
    summary = results["summary"]
    assert {(s["problem"], s["method"]) for s in summary} == {
        (p, m) for p in ("rastrigin", "ackley", "digits") for m in ("qimad", "adam", "rmsprop", "pso", "cmaes")}
    for s in summary:
        assert s["n"] == 3 and s["q1"] <= s["median"] <= s["q3"]
    digits = {s["method"]: s for s in summary if s["problem"] == "digits"}
    assert digits["adam"]["median_test_accuracy"] > 0.8  # the task really trains
    assert (out / "runs.csv").exists() and (out / "figures" / "compare.png").exists()


def _rows(path):
    with open(path) as fh:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(fh)]


def test_compare_resumes_after_a_crash(labkit_run, tmp_path, monkeypatch):
    import labkit.qimad.study as study

    overrides = {"problems": ["rastrigin", "rosenbrock"], "methods": ["qimad", "adam", "pso"], "seeds": 2,
                 "budget": 64, "dim": 5}
    labkit_run("qimad:compare", preset=None, overrides=overrides, out_dir=tmp_path / "straight")
    real, calls = study.run_method, []

    def crashing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 8:  # inside the third (problem, seed) item
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(study, "run_method", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        labkit_run("qimad:compare", preset=None, overrides=overrides, out_dir=tmp_path / "resumed")
    monkeypatch.setattr(study, "run_method", real)
    labkit_run("qimad:compare", preset=None, overrides=overrides, out_dir=tmp_path / "resumed", resume=True)
    assert _rows(tmp_path / "resumed" / "runs.csv") == _rows(tmp_path / "straight" / "runs.csv")
