"""load_run and `labkit show`: completed, failed, running and earlier-version run folders; the README plugin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.core import load_run
from labkit.core.testing import write_plugin_distribution

DATA = Path(__file__).parent / "data"
README = Path(__file__).parents[2] / "packages" / "core" / "README.md"


@pytest.fixture(scope="module")
def template_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("template-site")
    write_plugin_distribution(site, distribution="mylab", module="labkit_template",
                              source=(DATA / "labkit_template.py").read_text(), entry_point="mylab", version="0.3.0")
    return site


def _labkit(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site), LABKIT_PROGRESS="0")
    return subprocess.run([sys.executable, "-m", "labkit.core.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_readme_plugin_is_the_tested_template_file():
    blocks = re.findall(r"```python\n(# mylab/plugin\.py.*?)```", README.read_text(), flags=re.S)
    assert blocks == [(DATA / "labkit_template.py").read_text()]


def test_template_plugin_runs_and_its_artifact_predicts_in_a_fresh_process(template_site, tmp_path):
    done = _labkit(template_site, tmp_path, "run", "mylab:fit", "--preset", "quick", "--out", "r")
    assert done.returncode == 0, done.stderr
    reported = json.loads((tmp_path / "r" / "results.json").read_text())["results"]["headline"]["at_0.5"]
    readme_use = re.search(r"```python\n(from labkit.core import load_run\n.*?)```", README.read_text(), flags=re.S)
    assert readme_use is not None
    code = readme_use.group(1).replace('"runs/fit"', '"r"') + "print(repr(float(poly.predict(0.5))))\n"
    env = dict(os.environ, PYTHONPATH=str(template_site))
    fresh = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert fresh.returncode == 0, fresh.stderr
    assert float(fresh.stdout.strip().splitlines()[-1]) == reported
    shown = _labkit(template_site, tmp_path, "show", "r")
    assert shown.returncode == 0, shown.stderr
    for text in ("mylab:fit", "completed", "degree", "at_0.5", "poly", "degree-1 fit of sin(2x)"):
        assert text in shown.stdout


def test_a_failed_run_gives_its_config_and_error(cli, tmp_path):
    assert cli("run", "toy:fails", "--out", "f", "--set", "steps=4").returncode != 0
    run = load_run(tmp_path / "f")
    assert run.status == "failed" and run.config["steps"] == 4
    assert run.error == "RuntimeError: deliberate failure"
    assert run.results == {} and run.missing == []
    shown = cli("show", "f")
    assert shown.returncode == 0 and "deliberate failure" in shown.stdout


def test_a_running_folder_reads_as_running(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"experiment": "toy:x", "seed": 1, "config": {"a": 1}, "layout": 2}))
    (tmp_path / "progress.json").write_text(json.dumps({"status": "running", "device": "cpu"}))
    run = load_run(tmp_path)
    assert (run.status, run.results, run.missing, run.artifacts) == ("running", {}, [], {})


def test_an_earlier_labkit_folder_says_what_it_lacks(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"experiment": "toy:x", "seed": 0, "config": {}}))
    (tmp_path / "progress.json").write_text(json.dumps({"status": "completed"}))
    run = load_run(tmp_path)
    assert run.missing == ["artifacts/", "results.json"]
    with pytest.raises(Exception, match=r"saved none\); rerun it"):
        run.artifact("model")


def test_not_a_run_folder_is_one_clear_error(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = cli("show", "empty")
    assert proc.returncode == 2 and "is not a labkit run folder" in proc.stderr


def test_a_folder_being_written_reads_as_a_consistent_snapshot(plugin_site, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(plugin_site), LABKIT_PROGRESS="0", LABKIT_PLUGINS="toy")
    proc = subprocess.Popen([sys.executable, "-m", "labkit.core.cli", "run", "toy:accumulate", "--set", "steps=40",
                             "--set", "delay=0.05", "--out", "r"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = set()
    try:
        while proc.poll() is None:
            if (tmp_path / "r" / "config.json").exists():
                run = load_run(tmp_path / "r")  # never raises mid-write, never mixes two states
                seen.add(run.status)
                assert run.config["steps"] == 40
                assert (run.status == "completed") == bool(run.results)
    finally:
        proc.wait(timeout=120)
    assert "running" in seen
    final = load_run(tmp_path / "r")
    assert final.status == "completed" and final.headline["steps"] == 40 and final.missing == []
