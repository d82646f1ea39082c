"""Lazy public names for plugin packages: heavy submodules import on first attribute access."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that imports ``table[name]`` (absolute or ``.relative``) on first use.

    Keeps ``import labkit.<plugin>`` free of torch/JAX while ``from labkit.<plugin> import X`` works.

    Example:
        >>> __getattr__ = lazy_exports("labkit.core", {"measure": ".timing"})
        >>> __getattr__("measure").__name__
        'measure'
    """

    def __getattr__(name: str) -> Any:
        if name in table:
            return getattr(importlib.import_module(table[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
