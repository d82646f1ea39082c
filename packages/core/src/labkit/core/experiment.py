"""The Experiment base class: a named, configurable, resumable unit of work a plugin registers."""

from __future__ import annotations

import abc
import importlib.util
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from labkit.core._errors import LabkitError
from labkit.core.config import build_config

if TYPE_CHECKING:
    from labkit.core.context import RunContext

ConfigT = TypeVar("ConfigT")


class Experiment(abc.ABC, Generic[ConfigT]):
    """Subclass this as ``Experiment[MyConfig]``, set the class attributes, implement :meth:`run`.

    The type parameter types ``ctx.config`` in :meth:`run` (``RunContext[MyConfig]``) and
    what :meth:`make_config` returns. Name the class ``<Something>Experiment``.

    Keep the module that defines an experiment free of heavy imports (torch, JAX...):
    import them inside :meth:`run`, so ``labkit list`` stays fast.

    Example:
        >>> from dataclasses import dataclass
        >>> from labkit.core.config import option
        >>> @dataclass
        ... class Cfg:
        ...     steps: int = option(3, help="number of steps", min=1)
        >>> class CountExperiment(Experiment[Cfg]):
        ...     name = "count"
        ...     summary = "Counts to `steps`."
        ...     config_class = Cfg
        ...     presets = {"quick": {"steps": 2}}
        ...     def run(self, ctx):
        ...         return {"headline": {"steps": ctx.config.steps}}
        >>> CountExperiment().make_config(preset="quick").steps
        2
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    config_class: ClassVar[type[Any]]
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    flagship: ClassVar[bool] = False
    optional_baselines: ClassVar[Mapping[str, str]] = {}
    """Baselines that need an optional dependency: baseline name -> the module it imports.

    The runner drops a baseline whose module is not installed (``ctx.skipped_baselines``), says so
    at the start of the log and lists it under ``skipped_baselines`` in ``results.json``.
    """
    framework: ClassVar[str | None] = None
    """``"torch"`` or ``"jax"`` when the experiment computes in one framework: ``--device`` is then
    resolved through that framework's devices alone (None: whichever is installed)."""

    @abc.abstractmethod
    def run(self, ctx: RunContext[ConfigT]) -> dict[str, Any]:
        """Do the work and return JSON-able results; put headline figures under ``"headline"``."""

    def skipped_baselines(self) -> dict[str, str]:
        """The optional baselines whose module is not installed here, with that module's name.

        Example:
            >>> class Probe(Experiment):
            ...     name, config_class = "probe", object
            ...     optional_baselines = {"ref": "no_such_module_here", "numpy-ref": "numpy"}
            ...     def run(self, ctx):
            ...         return {}
            >>> Probe().skipped_baselines()
            {'ref': 'no_such_module_here'}
        """
        return {name: module for name, module in sorted(self.optional_baselines.items()) if not _importable(module)}

    def estimate_memory(self, config: Any) -> int | None:
        """Peak memory in bytes that :meth:`run` needs with ``config`` (None: no estimate).

        The runner compares it with the memory available before it writes anything, so size
        fields need no machine-dependent upper bound in the config. Override it in experiments
        whose memory grows with a size field; an order-of-magnitude estimate is enough.
        """
        return None

    def check_world_size(self, config: Any, world_size: int) -> None:
        """Refuse to run on ``world_size`` processes (``--nproc``, torchrun) unless this experiment can.

        The default refuses more than one process: K copies of a one-process experiment would do
        the same work K times. Experiments that split their work (see
        :mod:`labkit.core.distributed`) override this, refusing configurations they cannot split.
        """
        if world_size > 1:
            raise LabkitError(f"experiment {self.name!r} runs in one process: it does not take --nproc or torchrun "
                              f"(asked for {world_size} processes)")

    def make_config(
        self,
        preset: str | None = None,
        file_values: Mapping[str, Any] | None = None,
        overrides: Sequence[str] | Mapping[str, Any] = (),
    ) -> ConfigT:
        """Resolve defaults <- preset <- config file values <- ``--set`` overrides, validated."""
        layers: list[Mapping[str, Any]] = []
        if preset is not None:
            if preset not in self.presets:
                known = ", ".join(sorted(self.presets)) or "none"
                raise LabkitError(f"experiment {self.name!r} has no preset {preset!r}; its presets: {known}")
            layers.append(self.presets[preset])
        if file_values:
            layers.append(file_values)
        return build_config(self.config_class, layers=layers, overrides=overrides)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module with no spec
        return False
