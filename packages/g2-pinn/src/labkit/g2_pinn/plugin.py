"""labkit plugin entry point of labkit-g2-pinn (light: no torch import here)."""

from __future__ import annotations

from labkit.core import hookimpl


@hookimpl
def labkit_experiments():
    """The train (flagship), spectrum and bryant-salamon experiments."""
    from labkit.g2_pinn.experiments import BryantSalamonExperiment, SpectrumExperiment, TrainExperiment

    return [TrainExperiment, SpectrumExperiment, BryantSalamonExperiment]


@hookimpl
def labkit_models():
    """Rebuild factories ``factory(config, tensors)``: the neck PINN (artifact ``model`` of ``train``)
    and the Bryant-Salamon shell models (artifacts ``shell_<optimizer>`` of ``bryant-salamon``: the
    cohomogeneity-one ``shell`` of the ansatz route, the 7-D ``shell-net`` of the network route)."""
    from labkit.core import state_dict_factory

    return {"g2-pinn": state_dict_factory("labkit.g2_pinn.model:G2PINN"),
            "shell": state_dict_factory("labkit.g2_pinn.shell:ShellPhi"),
            "shell-net": state_dict_factory("labkit.g2_pinn.shell_net:ShellNet")}
