"""Every docstring example in every installed labkit module runs and prints what it says.

Modules are imported by their real dotted names (``labkit.core.config``, ...), so the
examples see the same classes the rest of the suite does (pytest's own doctest collection
under importlib mode imports them a second time under other names).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import labkit


def _modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages(labkit.__path__, prefix="labkit."))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
