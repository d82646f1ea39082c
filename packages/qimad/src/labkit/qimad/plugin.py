"""labkit plugin of labkit-qimad: registers the optimizer ``qimad``, the experiment ``compare`` and its curves.

Loaded only when labkit-core is installed (entry point group ``labkit``); ``import labkit.qimad``
never imports this module. Light on purpose: torch loads when the factory is used.
"""

from __future__ import annotations

from typing import Any

from labkit.core import hookimpl


@hookimpl
def labkit_optimizers() -> dict[str, Any]:
    """QIMAD, as a lazy ``module:attr`` factory with labkit's optimizer signature (keeps ``labkit list`` fast).

    ``ctx.resolve("optimizer", "qimad")(params, lr=..., seed=..., total_steps=..., num_agents=4)``.
    """
    return {"qimad": "labkit.qimad._factory:qimad_optimizer"}


@hookimpl
def labkit_experiments() -> list[Any]:
    """The flagship comparison experiment."""
    from labkit.qimad.experiments import CompareExperiment

    return [CompareExperiment]


@hookimpl
def labkit_datasets() -> dict[str, Any]:
    """``compare-curves`` rebuilds the ``curves`` artifact of ``compare`` (``factory(config, tensors)``)."""
    return {"compare-curves": "labkit.qimad._curves:curves_factory"}
