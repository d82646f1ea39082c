"""Fixtures of the core tests: tiny *installed* plugin distributions (a good one and a broken one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.core.testing import write_plugin_distribution

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding two real distributions with ``labkit`` entry points: ``toy`` and ``broken``."""
    site = tmp_path_factory.mktemp("site")
    write_plugin_distribution(site, distribution="labkit-toy", module="labkit_toy",
                              source=(DATA / "labkit_toy.py").read_text(), entry_point="toy", version="1.2.3")
    write_plugin_distribution(site, distribution="labkit-broken", module="labkit_broken",
                              source=(DATA / "labkit_broken.py").read_text(), entry_point="broken", version="0.0.1")
    return site


@pytest.fixture
def with_plugins(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the plugin site on sys.path so importlib.metadata discovers its entry points."""
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.setenv("LABKIT_PROGRESS", "0")
    return plugin_site


@pytest.fixture
def cli(plugin_site: Path, tmp_path: Path):
    """Run the real ``labkit`` command in a subprocess with the plugin site installed."""

    def run(*args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PYTHONPATH=str(plugin_site), LABKIT_PROGRESS="0")
        proc = subprocess.run([sys.executable, "-m", "labkit.core.cli", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"labkit {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def rival_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy plugin, a second distribution claiming its name, and a plugin raising SystemExit at import."""
    site = tmp_path_factory.mktemp("rival-site")
    write_plugin_distribution(site, distribution="labkit-toy", module="labkit_toy",
                              source=(DATA / "labkit_toy.py").read_text(), entry_point="toy", version="1.2.3")
    write_plugin_distribution(site, distribution="labkit-impostor", module="labkit_impostor",
                              source=(DATA / "labkit_impostor.py").read_text(), entry_point="toy", version="6.6.6")
    write_plugin_distribution(site, distribution="labkit-exits", module="labkit_exits",
                              source=(DATA / "labkit_exits.py").read_text(), entry_point="exits", version="0.0.1")
    return site
