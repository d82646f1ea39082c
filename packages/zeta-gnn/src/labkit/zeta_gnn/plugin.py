"""Hook implementations of labkit-zeta-gnn (imports only labkit.core and light declarations)."""

from __future__ import annotations

from typing import Any

from labkit.core import hookimpl


@hookimpl
def labkit_experiments() -> list[Any]:
    """train (flagship), zeros, statistics."""
    from labkit.zeta_gnn.experiments import StatisticsExperiment, TrainExperiment, ZerosExperiment

    return [TrainExperiment, ZerosExperiment, StatisticsExperiment]


@hookimpl
def labkit_simulators() -> dict[str, Any]:
    """The zero source."""
    return {"zeta_zeros": "labkit.zeta_gnn.zeros:zeta_zeros"}


@hookimpl
def labkit_models() -> dict[str, Any]:
    """Rebuild factories ``factory(config, tensors)``: the trained predictor (artifact ``model`` of
    ``train``) and the bare MLP + 2×GCNConv network (config ``in_features``, ``hidden``)."""
    from labkit.core import state_dict_factory

    return {"predictor": "labkit.zeta_gnn.predictor:predictor_factory",
            "zeta_gcn": state_dict_factory("labkit.zeta_gnn.model:ZetaGCN")}


@hookimpl
def labkit_losses() -> dict[str, Any]:
    """MSE + spacing NLL + MMD."""
    return {"spacing": "labkit.zeta_gnn.losses:SpacingLoss"}


@hookimpl
def labkit_datasets() -> dict[str, Any]:
    """Shipped first zeros, and any range through the cache."""
    return {"zeros_first": "labkit.zeta_gnn.tables:shipped_zeros", "zeta_zeros": "labkit.zeta_gnn.zeros:zeta_zeros"}
