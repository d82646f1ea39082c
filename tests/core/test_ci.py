"""The CI script's helpers: it reads the README's two commands, and its checker of the main job."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_reads_exactly_the_readme_commands():
    readme_commands = runpy.run_path(str(ROOT / ".ci" / "readme_commands.py"))["readme_commands"]
    first, second = readme_commands(ROOT / "README.md")
    text = (ROOT / "README.md").read_text()
    assert f"   {first}\n" in text and f"   {second}\n" in text
    assert "labkit run --all --preset quick" in first and "pytest" in second
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_commands.py README.md" in ci and "check_main_job.py runs/quick" in ci


def test_main_job_checker_flags_a_skipped_baseline_and_a_missing_run(cli, plugin_site, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(plugin_site), LABKIT_PLUGINS="toy", LABKIT_PROGRESS="0")
    checker = [sys.executable, str(ROOT / ".ci" / "check_main_job.py"), "runs/quick"]
    missing = subprocess.run(checker, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "toy:accumulate: no readable" in missing.stderr
    proc = subprocess.run([sys.executable, "-m", "labkit.core.cli", "run", "--all", "--preset", "quick", "--device", "cpu"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    skipped = subprocess.run(checker, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert skipped.returncode == 1 and "skipped baselines ['exact']" in skipped.stderr
    (tmp_path / "labkit_toy_exact.py").write_text("def exact_total(xs):\n    return float(sum(xs))\n")
    env["PYTHONPATH"] += os.pathsep + str(tmp_path)
    subprocess.run([sys.executable, "-m", "labkit.core.cli", "run", "--all", "--preset", "quick", "--device", "cpu",
                    "--force"], cwd=tmp_path, env=env, check=True, capture_output=True)
    ok = subprocess.run(checker, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
