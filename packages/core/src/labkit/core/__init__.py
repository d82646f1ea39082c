"""labkit-core: interfaces, plugin hooks, the runner, crash-safe checkpoints and statistical timing.

``import labkit.core`` imports neither torch nor JAX; plugins load those inside the code that runs.

Example:
    >>> from labkit.core import combine_losses
    >>> combine_losses({"mse": 1.0, "penalty": 2.0}, weights={"penalty": 0.01}).total
    1.02
"""

from __future__ import annotations

__version__ = "0.1.0"

from labkit.core._errors import CheckpointError, ConfigError, LabkitError
from labkit.core.artifacts import ArtifactError, state_dict_factory
from labkit.core.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from labkit.core.checkpoint import Checkpoint, Checkpointer
from labkit.core.config import build_config, option
from labkit.core.context import Loop, RunContext
from labkit.core.devices import resolve_device
from labkit.core.experiment import Experiment
from labkit.core.hookspecs import hookimpl, hookspec
from labkit.core.interfaces import Loss, LossResult, Model, Simulator, combine_losses
from labkit.core.lazy import lazy_exports
from labkit.core.plugins import PluginRegistry
from labkit.core.runs import Run, load_run
from labkit.core.seeding import capture_rng_state, restore_rng_state, seed_everything
from labkit.core.timing import TimingResult, measure
from labkit.core.tracking import Tracked

__all__ = [
    "ArtifactError",
    "Checkpoint",
    "CheckpointError",
    "Checkpointer",
    "ConfigError",
    "Experiment",
    "LabkitError",
    "Loop",
    "Loss",
    "LossResult",
    "Model",
    "PluginRegistry",
    "Run",
    "RunContext",
    "Simulator",
    "TimingResult",
    "Tracked",
    "__version__",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "build_config",
    "capture_rng_state",
    "combine_losses",
    "hookimpl",
    "hookspec",
    "lazy_exports",
    "load_run",
    "measure",
    "option",
    "resolve_device",
    "restore_rng_state",
    "seed_everything",
    "state_dict_factory",
]
