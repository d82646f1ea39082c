"""Entry-point plugin discovery with failure isolation, and the registry of what plugins offer.

``pluggy.PluginManager.load_setuptools_entrypoints`` stops at the first plugin that fails
to import, so discovery loops over the entry points itself: each failure (import error,
invalid hook, exception inside a hook) is recorded with the plugin's name, distribution and
version, and every other plugin keeps working. ``LABKIT_DISABLE_PLUGINS=a,b`` skips plugins
(``name@distribution`` picks one of two distributions that register the same name).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from labkit.core import hookspecs
from labkit.core._errors import LabkitError
from labkit.core.experiment import Experiment


@dataclass
class PluginInfo:
    """One discovered plugin: where it comes from and, if it failed, why."""

    name: str
    module: str
    distribution: str
    version: str
    error: str | None = None
    traceback: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ExperimentEntry:
    """An experiment with the plugin that registered it."""

    plugin: str
    experiment: Experiment

    @property
    def full_name(self) -> str:
        return f"{self.plugin}:{self.experiment.name}"


class PluginRegistry:
    """Discovers ``labkit`` entry points and answers "what is registered" questions.

    Example:
        >>> registry = PluginRegistry.discover()
        >>> isinstance(registry.experiments(), dict)
        True
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._experiments: dict[str, ExperimentEntry] | None = None
        self._factories: dict[str, dict[str, tuple[str, Any]]] = {}

    @classmethod
    def discover(cls, group: str = hookspecs.ENTRY_POINT_GROUP) -> PluginRegistry:
        """Load every entry point of ``group``, recording failures instead of raising.

        ``LABKIT_PLUGINS`` / ``LABKIT_DISABLE_PLUGINS`` hold names or ``name@distribution``.
        A name that two distributions register is refused (neither loads, both are named)
        until one of them is disabled.
        """
        registry = cls()
        blocked = _names_from_env("LABKIT_DISABLE_PLUGINS")
        only = _names_from_env("LABKIT_PLUGINS")
        by_name: dict[str, list[tuple[md.EntryPoint, str, str]]] = {}
        for ep in sorted(md.entry_points(group=group), key=lambda e: e.name):
            dist = ep.dist.metadata["Name"] if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            if _selected(ep.name, dist, blocked) or (only and not _selected(ep.name, dist, only)):
                continue
            by_name.setdefault(ep.name, []).append((ep, dist, version))
        for name, candidates in by_name.items():
            ep, dist, version = candidates[0]
            info = PluginInfo(name, ep.value, dist, version)
            registry.plugins[name] = info
            if len({(d, e.value) for e, d, _ in candidates}) > 1:
                named = " and ".join(f"{d} {v} ({e.value})" for e, d, v in candidates)
                info.distribution = ", ".join(d for _, d, _ in candidates)
                info.error = (f"plugin name {name!r} is registered by {named}; neither is loaded until one is disabled, "
                              f"e.g. LABKIT_DISABLE_PLUGINS={name}@{candidates[-1][1]}")
                continue
            try:
                module = ep.load()
                registry.add(name, module)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit too: a plugin must not end labkit
                info.error = f"{type(exc).__name__}: {exc}"
                info.traceback = traceback.format_exc()
        return registry

    def add(self, name: str, module: ModuleType | object) -> None:
        """Register an already imported plugin object under ``name`` (validated against the specs)."""
        self.pm.register(module, name=name)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError:
            self.pm.unregister(module)
            raise
        if name not in self.plugins:
            self.plugins[name] = PluginInfo(name, getattr(module, "__name__", repr(module)), "?", "?")
        self._experiments = None
        self._factories.clear()

    def failures(self) -> list[PluginInfo]:
        """Plugins that failed to load or whose hooks raised."""
        self.experiments()
        for hook in hookspecs.REGISTRY_HOOKS:
            self.factories(hook)
        return [p for p in self.plugins.values() if not p.ok]

    def _call_each(self, hook_name: str) -> list[tuple[str, Any]]:
        results = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            info = self.plugins.get(impl.plugin_name)
            if info is not None and not info.ok:
                continue
            try:
                results.append((impl.plugin_name, impl.function()))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                if info is not None:
                    info.error = f"{hook_name}() raised {type(exc).__name__}: {exc}"
                    info.traceback = traceback.format_exc()
        return results

    def experiments(self) -> dict[str, ExperimentEntry]:
        """All experiments by full name ``plugin:experiment``."""
        if self._experiments is None:
            found: dict[str, ExperimentEntry] = {}
            for plugin, items in self._call_each("labkit_experiments"):
                mine: dict[str, ExperimentEntry] = {}
                try:
                    for item in items or ():
                        exp = item() if isinstance(item, type) else item
                        if not isinstance(exp, Experiment):
                            raise TypeError(f"{item!r} is not a labkit.core.Experiment")
                        entry = ExperimentEntry(plugin, exp)
                        if entry.full_name in mine:
                            raise ValueError(f"experiment {entry.full_name!r} is registered twice")
                        mine[entry.full_name] = entry
                    if sum(e.experiment.flagship for e in mine.values()) > 1:
                        raise ValueError("more than one experiment sets flagship = True")
                except Exception as exc:
                    self.plugins[plugin].error = f"labkit_experiments(): {exc}"
                    continue
                found.update(mine)
            self._experiments = found
        return self._experiments

    def experiment(self, full_name: str) -> ExperimentEntry:
        """Look up ``plugin:experiment``; the error lists what is available."""
        experiments = self.experiments()
        if full_name in experiments:
            return experiments[full_name]
        plugin, sep, _ = full_name.partition(":")
        if not sep:
            raise LabkitError(f"name experiments as PLUGIN:EXPERIMENT; available: {', '.join(sorted(experiments)) or 'none'}")
        if plugin not in self.plugins:
            raise LabkitError(f"unknown plugin {plugin!r}; installed plugins: {', '.join(sorted(self.plugins)) or 'none'}")
        info = self.plugins[plugin]
        if not info.ok:
            raise LabkitError(f"plugin {plugin!r} failed to load: {info.error}")
        mine = sorted(n for n, e in experiments.items() if e.plugin == plugin)
        raise LabkitError(f"plugin {plugin!r} has no experiment {full_name.partition(':')[2]!r}; its experiments: {', '.join(mine) or 'none'}")

    def flagships(self) -> dict[str, ExperimentEntry]:
        """Each plugin's flagship experiment, by plugin name."""
        return {e.plugin: e for e in self.experiments().values() if e.experiment.flagship}

    def factories(self, hook_name: str) -> dict[str, tuple[str, Any]]:
        """``plugin:name -> (plugin, factory)`` for one of the name -> factory hooks (core's optimizers included)."""
        if hook_name not in hookspecs.REGISTRY_HOOKS:
            raise ValueError(f"hook_name must be one of {hookspecs.REGISTRY_HOOKS}, got {hook_name!r}")
        if hook_name not in self._factories:
            table: dict[str, tuple[str, Any]] = {}
            if hook_name == "labkit_optimizers":
                from labkit.core.optimizers import BUILTIN_OPTIMIZERS

                table.update({f"core:{name}": ("core", ref) for name, ref in BUILTIN_OPTIMIZERS.items()})
            for plugin, mapping in self._call_each(hook_name):
                if not isinstance(mapping, Mapping):
                    self.plugins[plugin].error = f"{hook_name}() must return a mapping, got {type(mapping).__name__}"
                    continue
                for key, factory in mapping.items():
                    table[f"{plugin}:{key}"] = (plugin, factory)
            self._factories[hook_name] = table
        return self._factories[hook_name]

    def resolve(self, hook_name: str, name: str) -> Callable[..., Any]:
        """Return the factory registered as ``name`` (``plugin:name``, or a bare unique name)."""
        table = self.factories(hook_name)
        matches = [k for k in table if k == name or k.partition(":")[2] == name]
        kind = hook_name.removeprefix("labkit_").removesuffix("s")
        if len(matches) != 1:
            detail = "is ambiguous between " + ", ".join(matches) if matches else "is not registered"
            raise LabkitError(f"{kind} {name!r} {detail}; available: {', '.join(sorted(table)) or 'none'}")
        return load_factory(table[matches[0]][1])


def _names_from_env(variable: str) -> set[str]:
    return {n.strip() for n in os.environ.get(variable, "").split(",") if n.strip()}


def _selected(name: str, distribution: str, names: set[str]) -> bool:
    """Whether ``name`` or ``name@distribution`` (distribution names normalised) is in ``names``."""
    pairs = (n.partition("@") for n in names)
    return name in names or any(p == name and at and _normalise(d) == _normalise(distribution) for p, at, d in pairs)


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def load_factory(factory: Any) -> Callable[..., Any]:
    """Turn a lazy ``"module:attr"`` / ``"module.attr"`` string into the object; pass callables through."""
    if not isinstance(factory, str):
        return factory
    module_name, sep, attr = factory.partition(":")
    if not sep:
        module_name, _, attr = factory.rpartition(".")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
