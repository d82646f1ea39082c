"""lazy_exports gives the named object, also when a submodule of the same name was imported first."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import ModuleType


def _write_package(root):
    pkg = root / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from labkit.core import lazy_exports
        _LAZY = {"torsion": ".torsion", "helper": ".user"}
        __all__ = sorted(_LAZY)
        __getattr__ = lazy_exports(__name__, _LAZY)
    """))
    (pkg / "torsion.py").write_text("def torsion(x):\n    return 2 * x\n")
    (pkg / "user.py").write_text("from lazypkg.torsion import torsion\n\ndef helper(x):\n    return torsion(x) + 1\n")


def _run(tmp_path, code):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_export_named_like_its_module_is_the_function_after_the_module_was_imported(tmp_path):
    _write_package(tmp_path)
    out = _run(tmp_path, """
        import lazypkg.user                      # imports lazypkg.torsion as a side effect
        from lazypkg import torsion, helper
        from lazypkg.torsion import torsion as direct
        import importlib, types
        print(callable(torsion), isinstance(torsion, types.ModuleType), torsion is direct, torsion(3), helper(3))
        print(isinstance(importlib.import_module("lazypkg.torsion"), types.ModuleType))
    """)
    assert out == ["True", "False", "True", "6", "7", "True"]


def test_export_stays_the_function_on_repeated_access(tmp_path):
    _write_package(tmp_path)
    out = _run(tmp_path, """
        import lazypkg
        first = lazypkg.torsion
        import lazypkg.torsion
        print(lazypkg.torsion is first, callable(lazypkg.torsion))
    """)
    assert out == ["True", "True"]


def test_g2_pinn_torsion_and_curvature_are_functions():
    code = ("import types, labkit.g2_pinn.evaluation\n"
            "from labkit.g2_pinn import torsion, curvature\n"
            "print(isinstance(torsion, types.ModuleType), isinstance(curvature, types.ModuleType), "
            "torsion.__module__, curvature.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "labkit.g2_pinn.torsion", "labkit.g2_pinn.curvature"]


def test_unknown_name_is_an_attribute_error():
    import pytest

    from labkit.core import lazy_exports

    getter = lazy_exports("labkit.core", {"measure": ".timing"})
    assert not isinstance(getter("measure"), ModuleType)
    with pytest.raises(AttributeError, match="nope"):
        getter("nope")
