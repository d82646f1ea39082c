"""labkit plugin hooks of labkit-nmr-fno (light: no torch import here)."""

from __future__ import annotations

from typing import Any

from labkit.core import hookimpl


@hookimpl
def labkit_experiments() -> list[Any]:
    """Experiments: simulate, scaling-classical and the surrogate experiments (see experiments/)."""
    from labkit.nmr_fno.experiments import EXPERIMENTS

    return list(EXPERIMENTS)


@hookimpl
def labkit_simulators() -> dict[str, str]:
    """Simulation methods by name, as lazy "module:attr" factories."""
    from labkit.nmr_fno.methods import METHOD_TABLE

    return {name: info.factory for name, info in METHOD_TABLE.items()}


@hookimpl
def labkit_datasets() -> dict[str, str]:
    """Sharded, resumable (parameters -> trajectories) spin-system datasets."""
    return {"spin-trajectories": "labkit.nmr_fno.dataset:generate_dataset"}


@hookimpl
def labkit_models() -> dict[str, str]:
    """The 1-D Fourier neural operator, and the FID surrogate's artifact factory (config, tensors) -> FIDSurrogate."""
    return {"fno": "labkit.nmr_fno.fno:FNO1d", "fid-surrogate": "labkit.nmr_fno.fid_surrogate:surrogate_from_artifact"}


@hookimpl
def labkit_losses() -> dict[str, str]:
    """MSE plus the physics penalties (initial values, |M| <= 1), weight 0.01 by default."""
    return {"physics-informed": "labkit.nmr_fno.physics_loss:physics_informed_loss"}
