"""What every labkit plugin promises, as checks that return the problems they find (empty: conforms).

Run them through the opt-in pytest helper :func:`labkit.core.testing.conformance_test`, or call
:func:`check` directly. The checks, by name:

``light_imports``  the plugin module, its package and its experiment list import none of
                   :data:`HEAVY_MODULES` (torch, JAX, torch_geometric, flint, CuPy, scipy, pymetis,
                   matplotlib): a fresh subprocess proves it.
``presets``        every experiment builds its default config and every preset's config.
``flagship``       the flagship experiment, if any, has a ``quick`` preset (``labkit run --all --preset quick``).
``exports``        every name in the package's ``__all__`` resolves to the named object (not a module of
                   that name), the same object on a second access after all of them were imported.
``factories``      every factory registered through the name -> factory hooks resolves (``"module:attr"``).
``import_graph``   a static scan of the plugin's source: it imports no ``labkit.*`` other than its own
                   package, ``labkit.core`` and ``labkit.qimad``.
``core_import_graph`` (for ``labkit-core`` itself) core imports no plugin.

Example:
    >>> check("core", "core_import_graph")
    []
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from labkit.core import hookspecs
from labkit.core.plugins import ExperimentEntry, PluginRegistry, load_factory

HEAVY_MODULES = ("torch", "jax", "torch_geometric", "flint", "cupy", "scipy", "pymetis", "matplotlib")
"""Modules a plugin module or experiment list must not import (``labkit list`` stays fast)."""

SHARED_PACKAGES = ("labkit.core", "labkit.qimad")
"""The labkit packages any plugin may import besides its own."""

PLUGIN_CHECKS = ("light_imports", "presets", "flagship", "exports", "factories", "import_graph")
CORE = "core"
"""The target name of labkit-core's own checks."""


def check(target: str, name: str, registry: PluginRegistry | None = None) -> list[str]:
    """Run check ``name`` on plugin ``target`` (or ``core_import_graph`` on ``"core"``); return the problems."""
    if target == CORE:
        if name != "core_import_graph":
            raise ValueError(f"check: {CORE!r} has only 'core_import_graph', got {name!r}")
        return _core_import_graph()
    if name not in PLUGIN_CHECKS:
        raise ValueError(f"check: unknown {name!r}; the checks: {', '.join(PLUGIN_CHECKS)}")
    registry = registry if registry is not None else PluginRegistry.discover()
    info = registry.plugins.get(target)
    if info is None:
        return [f"plugin {target!r} is not installed (installed: {', '.join(sorted(registry.plugins)) or 'none'})"]
    registry.failures()  # calls every hook once, so a hook that raises shows up as a load error
    if not info.ok:
        return [f"plugin {target!r} failed to load: {info.error}"]
    checker: Callable[[PluginRegistry, str, str], list[str]] = _CHECKS[name]
    return checker(registry, target, info.module.partition(":")[0])


def cases(registry: PluginRegistry | None = None) -> list[tuple[str, str]]:
    """Every (target, check) pair for the installed plugins, core's own check first."""
    registry = registry if registry is not None else PluginRegistry.discover()
    return [(CORE, "core_import_graph")] + [(p, c) for p in sorted(registry.plugins) for c in PLUGIN_CHECKS]


def _package_of(module_name: str) -> str:
    """``labkit.zeta_gnn.plugin`` -> ``labkit.zeta_gnn``; a top-level module is its own package."""
    parent = module_name.rpartition(".")[0]
    return parent if parent and parent != "labkit" else module_name


def _light_imports(registry: PluginRegistry, plugin: str, module: str) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"mod = importlib.import_module({module!r})\n"
        f"importlib.import_module({_package_of(module)!r})\n"
        "hook = getattr(mod, 'labkit_experiments', None)\n"
        "items = list(hook() or ()) if hook is not None else []\n"
        f"print(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return [f"{plugin}: importing {module} and listing its experiments failed: {proc.stderr.strip()[-2000:]}"]
    heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    return [f"{plugin}: importing {module}, its package and its experiment list loads {m}; "
            "import it inside the code that runs" for m in heavy]


def _presets(registry: PluginRegistry, plugin: str, module: str) -> list[str]:
    problems = []
    for entry in _experiments(registry, plugin):
        for preset in (None, *sorted(entry.experiment.presets)):
            try:
                entry.experiment.make_config(preset=preset)
            except Exception as exc:
                label = f"preset {preset!r}" if preset else "the defaults"
                problems.append(f"{entry.full_name}: {label} do not build: {type(exc).__name__}: {exc}")
    return problems


def _flagship(registry: PluginRegistry, plugin: str, module: str) -> list[str]:
    flagship = registry.flagships().get(plugin)
    if flagship is None or "quick" in flagship.experiment.presets:
        return []
    return [f"{flagship.full_name}: the flagship has no 'quick' preset (labkit run --all --preset quick needs one)"]


def _exports(registry: PluginRegistry, plugin: str, module: str) -> list[str]:
    package = importlib.import_module(_package_of(module))
    names = list(getattr(package, "__all__", ()))
    problems, first = [], {}
    for name in names:
        try:
            first[name] = getattr(package, name)
        except Exception as exc:
            problems.append(f"{package.__name__}.{name} does not resolve: {type(exc).__name__}: {exc}")
    for name, value in first.items():  # every submodule they live in is imported by now
        again = getattr(package, name)
        if isinstance(again, ModuleType) or again is not value:
            problems.append(f"{package.__name__}.{name} gives {again!r} on a second access, not the exported object")
        elif value is None:
            problems.append(f"{package.__name__}.{name} is None")
    return problems


def _factories(registry: PluginRegistry, plugin: str, module: str) -> list[str]:
    problems = []
    for hook in hookspecs.REGISTRY_HOOKS:
        for key, (owner, factory) in sorted(registry.factories(hook).items()):
            if owner != plugin:
                continue
            try:
                obj = load_factory(factory)
            except Exception as exc:
                problems.append(f"{hook} {key}: {factory!r} does not resolve: {type(exc).__name__}: {exc}")
                continue
            if not callable(obj):
                problems.append(f"{hook} {key}: {factory!r} resolves to a non-callable {type(obj).__name__}")
    return problems


def _import_graph(registry: PluginRegistry, plugin: str, module: str) -> list[str]:
    own = _package_of(module)
    allowed = (own, *SHARED_PACKAGES)
    return [f"{path}:{line}: {plugin} imports {name}; a plugin imports only its own package, labkit.core and labkit.qimad"
            for path, line, name in _labkit_imports(own)
            if not any(name == a or name.startswith(a + ".") for a in allowed)]


def _core_import_graph() -> list[str]:
    return [f"{path}:{line}: labkit.core imports {name}; core must not import any plugin"
            for path, line, name in _labkit_imports("labkit.core")
            if not (name == "labkit.core" or name.startswith("labkit.core."))]


def _labkit_imports(package: str) -> Iterator[tuple[str, int, str]]:
    """(file, line, imported labkit.* name) for every absolute import in ``package``'s source files."""
    mod = importlib.import_module(package)
    roots = [Path(p) for p in getattr(mod, "__path__", ())]
    files = sorted(f for root in roots for f in root.rglob("*.py")) if roots else [Path(str(mod.__file__))]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] if node.module != "labkit" else [f"labkit.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name == "labkit" or name.startswith("labkit."):
                    yield str(path), node.lineno, name


def _experiments(registry: PluginRegistry, plugin: str) -> list[ExperimentEntry]:
    return sorted((e for e in registry.experiments().values() if e.plugin == plugin), key=lambda e: e.full_name)


_CHECKS: dict[str, Callable[[PluginRegistry, str, str], list[str]]] = {
    "light_imports": _light_imports,
    "presets": _presets,
    "flagship": _flagship,
    "exports": _exports,
    "factories": _factories,
    "import_graph": _import_graph,
}
