"""Import hygiene: core stays light, every module imports cleanly, the namespace stays open."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_import_core_loads_neither_torch_nor_jax():
    code = "import sys, labkit.core; print(sorted(m for m in ('torch', 'jax', 'torch_geometric', 'flint') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_every_core_module_imports_without_warnings():
    import labkit.core

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for info in pkgutil.walk_packages(labkit.core.__path__, "labkit.core."):
            importlib.import_module(info.name)


def test_no_distribution_ships_labkit_init():
    assert list(ROOT.glob("packages/*/src/labkit/__init__.py")) == []
    for pyproject in ROOT.glob("packages/*/pyproject.toml"):
        assert 'packages = ["src/labkit"]' in pyproject.read_text(), pyproject


def test_qimad_does_not_depend_on_core():
    import tomllib

    deps = tomllib.loads((ROOT / "packages/qimad/pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith("labkit") for d in deps), deps

