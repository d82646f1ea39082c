"""labkit plugin entry point of labkit-g2-pinn (light: no torch import here)."""

from __future__ import annotations

from labkit.core import hookimpl


@hookimpl
def labkit_experiments():
    """The train (flagship), spectrum and bryant-salamon experiments."""
    from labkit.g2_pinn.experiments import BryantSalamon, Spectrum, Train

    return [Train, Spectrum, BryantSalamon]


@hookimpl
def labkit_models():
    """The G2 PINN (lazy dotted path)."""
    return {"g2-pinn": "labkit.g2_pinn.model:G2PINN"}

