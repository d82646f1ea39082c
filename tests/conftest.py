"""Fixtures shared by every package's tests: run a README example in a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def readme_section_code(package: str, heading: str) -> str:
    """The first ```python block under ``## <heading>`` of ``packages/<package>/README.md``."""
    text = (ROOT / "packages" / package / "README.md").read_text()
    if f"\n## {heading}\n" not in text:
        raise AssertionError(f"packages/{package}/README.md has no section '## {heading}'")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, flags=re.S)
    if match is None:
        raise AssertionError(f"packages/{package}/README.md '## {heading}' has no python example")
    return match.group(1)


@pytest.fixture
def run_readme_example() -> Callable[..., str]:
    """``run(package, cwd, heading="Use a trained model")``: run that README example in a fresh
    one-thread process in ``cwd``; returns its stdout (the test fails with its stderr if it fails)."""

    def run(package: str, cwd: Path, heading: str = "Use a trained model") -> str:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", LABKIT_PROGRESS="0")
        proc = subprocess.run([sys.executable, "-c", readme_section_code(package, heading)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"README example of {package} failed:\n{proc.stderr}"
        return proc.stdout

    return run
