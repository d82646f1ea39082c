"""labkit plugin entry point for son-qttn (imports nothing heavy)."""

from __future__ import annotations

from typing import Any

from labkit.core import hookimpl


@hookimpl
def labkit_experiments() -> list[Any]:
    """The hybrid (flagship), compress and ebm experiments."""
    from labkit.son_qttn.experiments import CompressExperiment, EBMExperiment, HybridExperiment

    return [HybridExperiment, CompressExperiment, EBMExperiment]


@hookimpl
def labkit_simulators() -> dict[str, str]:
    """Oscillator-network and RLC-bank simulators (lazy dotted names); ``son-state`` rebuilds the
    ``son_state`` artifact of ``hybrid`` (``factory(config, tensors)``)."""
    return {"son": "labkit.son_qttn.son:simulate_son", "rlc": "labkit.son_qttn.rlc:simulate_rlc",
            "son-state": "labkit.son_qttn.artifacts:son_state_factory"}


@hookimpl
def labkit_datasets() -> dict[str, str]:
    """Image sources: bundled digits and Fashion-MNIST IDX files; ``qtt-field`` rebuilds the ``qtt``
    artifact of ``hybrid`` (``factory(config, tensors)``)."""
    return {"images": "labkit.son_qttn.data:load_images", "idx": "labkit.son_qttn.data:read_idx",
            "qtt-field": "labkit.son_qttn.artifacts:qtt_field_factory"}
