"""labkit plugin entry point for son-qttn (imports nothing heavy)."""

from __future__ import annotations

from typing import Any

from labkit.core import hookimpl


@hookimpl
def labkit_experiments() -> list[Any]:
    """The hybrid (flagship), compress and ebm experiments."""
    from labkit.son_qttn.experiments import EBM, Compress, Hybrid

    return [Hybrid, Compress, EBM]


@hookimpl
def labkit_simulators() -> dict[str, str]:
    """Oscillator-network and RLC-bank simulators (lazy dotted names)."""
    return {"son": "labkit.son_qttn.son:simulate_son", "rlc": "labkit.son_qttn.rlc:simulate_rlc"}


@hookimpl
def labkit_datasets() -> dict[str, str]:
    """Image sources: bundled digits and Fashion-MNIST IDX files."""
    return {"images": "labkit.son_qttn.data:load_images", "idx": "labkit.son_qttn.data:read_idx"}
