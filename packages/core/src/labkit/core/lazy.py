"""Lazy public names for plugin packages: heavy submodules import on first attribute access."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


class _ExportsFirst(ModuleType):
    """A package whose exported names win over submodules of the same name.

    Importing ``pkg.torsion`` makes Python set the attribute ``pkg.torsion`` to that submodule,
    which would hide the exported function ``torsion`` from ``from pkg import torsion``. This
    class drops exactly that assignment; the submodule stays in ``sys.modules`` and importable by
    its full path (``from pkg.torsion import torsion``).
    """

    _labkit_exports_first: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        if (name in self._labkit_exports_first and isinstance(value, ModuleType)
                and value.__name__ == f"{self.__name__}.{name}"):
            return
        super().__setattr__(name, value)


def lazy_exports(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that imports ``table[name]`` (absolute or ``.relative``) on first use.

    Keeps ``import labkit.<plugin>`` free of torch/JAX while ``from labkit.<plugin> import X`` works.
    ``X`` is always the named object, also when a submodule is called ``X`` too (``torsion`` in
    ``.torsion``) and was imported first.

    Example:
        >>> __getattr__ = lazy_exports("labkit.core", {"measure": ".timing"})
        >>> __getattr__("measure").__name__
        'measure'
    """
    shadowing = frozenset(name for name, where in table.items()
                          if importlib.util.resolve_name(where, package) == f"{package}.{name}")
    module = sys.modules.get(package)
    if shadowing and module is not None:
        if type(module) is ModuleType:
            module.__class__ = _ExportsFirst
        module.__dict__["_labkit_exports_first"] = shadowing | getattr(module, "_labkit_exports_first", frozenset())
        for name in shadowing:  # a submodule imported before this call
            if isinstance(module.__dict__.get(name), ModuleType):
                del module.__dict__[name]

    def __getattr__(name: str) -> Any:
        if name in table:
            value = getattr(importlib.import_module(table[name], package), name)
            if name in shadowing and package in sys.modules:
                sys.modules[package].__dict__[name] = value  # later lookups skip __getattr__
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
