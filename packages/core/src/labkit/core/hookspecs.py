"""The labkit hook specifications: this module is the hook reference.

Plugins are modules named by entry points in the group ``labkit``; the entry-point
name is the plugin's CLI name (``zeta-gnn`` in ``labkit run zeta-gnn:train``). A plugin
implements any subset of the hooks below with ``@labkit.core.hookimpl``. Every hook is
called with no arguments, once per plugin, when the registry first needs it (lazily),
and none is ``firstresult``: the registry keeps each plugin's answer separately so that
it can say which plugin registered what.

Example plugin module::

    from labkit.core import hookimpl

    @hookimpl
    def labkit_experiments():
        from mypkg.experiments import Train   # keep heavy imports out of module level
        return [Train]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pluggy

PROJECT_NAME = "labkit"
ENTRY_POINT_GROUP = "labkit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Factory = Callable[..., Any] | str
"""A factory: a callable, or a lazy ``"module:attr"`` / ``"module.attr"`` reference."""


@hookspec
def labkit_experiments() -> Sequence[Any]:
    """Return the experiments this plugin offers.

    Called once per plugin when experiments are first listed or run. Return a sequence of
    :class:`labkit.core.Experiment` subclasses (or instances). Each experiment's ``name`` is
    unique within the plugin; its full name is ``"<plugin>:<name>"``. At most one may set
    ``flagship = True``: that is what ``labkit run --all`` runs for the plugin. Two
    experiments with the same full name are an error that names both distributions.
    """


@hookspec
def labkit_simulators() -> Mapping[str, Factory]:
    """Return named factories of simulators (objects following :class:`labkit.core.Simulator`
    or plain ``simulate(params)`` functions).

    Called once per plugin when simulators are listed or looked up. Names are unique
    within the plugin; lookups use ``"<plugin>:<name>"`` (``ctx.resolve("simulator", name)``).
    A factory that an artifact names follows the rebuild contract of :func:`labkit_models`.
    """


@hookspec
def labkit_models() -> Mapping[str, Factory]:
    """Return named factories of learnable models (objects with ``state_dict`` and
    ``load_state_dict``, see :class:`labkit.core.Model`).

    Called once per plugin when models are listed or looked up. The rebuild contract, used by
    ``load_run(path).artifact(name)`` for artifacts saved with ``ctx.save_artifact(...,
    factory="<name>")``: the factory is called as ``factory(config: dict, tensors: dict[str,
    array]) -> object`` with the JSON config and the tensors (numpy arrays, or CPU torch
    tensors) that were saved. ``labkit.core.state_dict_factory("module:Class")`` is that
    factory for a class built from keyword arguments that loads a state dict.
    """


@hookspec
def labkit_losses() -> Mapping[str, Factory]:
    """Return named factories of losses: callables ``loss(pred, target, **context)`` that
    return a :class:`labkit.core.LossResult` (a total and its named components).

    Called once per plugin when losses are listed or looked up. A factory that an artifact
    names follows the rebuild contract of :func:`labkit_models`.
    """


@hookspec
def labkit_optimizers() -> Mapping[str, Factory]:
    """Return named optimizer factories, all with one signature:
    ``factory(params, *, lr, weight_decay=0.0, seed=None, total_steps=None) -> torch.optim.Optimizer``.

    Called once per plugin when optimizers are listed or looked up; experiments select them by
    name with ``ctx.resolve("optimizer", name)`` (for example ``"qimad"``; core adds ``adamw``,
    ``adam`` and ``sgd``). ``seed`` and ``total_steps`` are for optimizers that use them.
    """


@hookspec
def labkit_datasets() -> Mapping[str, Factory]:
    """Return named data sources: factories that compute, load from a user-given path,
    or read package-shipped data. Nothing may download at run time.

    Called once per plugin when datasets are listed or looked up. A factory that an artifact
    names (saved arrays, curves) follows the rebuild contract of :func:`labkit_models`.
    """


REGISTRY_HOOKS: tuple[str, ...] = (
    "labkit_simulators",
    "labkit_models",
    "labkit_losses",
    "labkit_optimizers",
    "labkit_datasets",
)
"""The name -> factory hooks, in the order ``labkit list`` shows them."""
