"""Every docstring example in every installed labkit module runs and prints what it says.

Modules are imported by their real dotted names (``labkit.core.config``, ...), so the
examples see the same classes the rest of the suite does; a module whose optional
dependency is missing here is skipped with the reason.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import labkit

OPTIONAL = {"matlab", "thrml", "cupy"}  # only modules that wrap these may be absent here


def _modules() -> list[str]:
    return sorted(
        info.name for info in pkgutil.walk_packages(labkit.__path__, prefix="labkit.")
    )


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs {exc.name}")
        raise
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
