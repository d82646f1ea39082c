"""labkit.nmr_fno: exact, Krylov and Chebyshev spin-dynamics simulators and an FNO surrogate.

Light at import: torch-based names (simulate_batch, the FNO surrogate) load on first use.

Example:
    >>> from labkit.nmr_fno import random_system, simulate
    >>> out = simulate(random_system(4, "ring", seed=0))
    >>> round(float(out["Mx"][0]), 12)
    1.0
"""

from __future__ import annotations

from labkit.core import lazy_exports

from .grid import (
    DEFAULT_DT,
    N_TIMES,
    OBSERVABLES,
    AliasingWarning,
    MemoryLimitError,
    default_times,
)
from .methods import METHOD_TABLE, estimate_memory_bytes
from .simulate import METHODS, simulate
from .systems import TOPOLOGIES, SpinSystem, n_params, random_system

# name -> module holding it; imported lazily so `import labkit.nmr_fno` never imports torch
_LAZY = {
    "simulate_batch": ".batch",
    "params_to_tensor": ".batch",
    "simulate_exact": ".exact",
    "fid_transitions": ".exact",
    "simulate_propagated": ".iterative",
    "simulate_dense_expm": ".dense",
    "simulate_exact_full": ".dense",
    "full_hamiltonian": ".dense",
    "spinach_available": ".spinach",
    "SpinachUnavailable": ".spinach",
    "generate_dataset": ".dataset",
    "load_dataset": ".dataset",
    "DatasetPart": ".dataset",
    "time_methods": ".timing",
    "FNO1d": ".fno",
    "FNOConfig": ".fno",
    "SpectralConv1d": ".fno",
    "Surrogate": ".surrogate",
    "SurrogateSpec": ".surrogate",
    "OutOfRangeWarning": ".surrogate",
    "encode_systems": ".surrogate",
    "surrogate_times": ".surrogate",
    "physics_informed_loss": ".physics_loss",
    "physics_penalties": ".physics_loss",
    "TrainSettings": ".training",
    "train_surrogate": ".training",
    "make_dataset": ".training_data",
    "SurrogateData": ".training_data",
    "mc_dropout_predict": ".uncertainty",
    "calibration": ".uncertainty",
    "MCPrediction": ".uncertainty",
    "EvaluationCache": ".inverse",
    "fit_couplings": ".inverse",
    "FitResult": ".inverse",
    "add_noise": ".inverse",
    "exact_forward": ".inverse",
    "surrogate_forward": ".inverse",
    "FIDSurrogate": ".fid_surrogate",
    "FIDSpec": ".fid_surrogate",
    "TASK_TIMES": ".task",
    "task_system": ".task",
    "task_systems": ".task",
    "broaden": ".task",
    "first_order_fid": ".task",
    "relative_l2": ".task",
    "LineNet": ".line_model",
    "LineNetConfig": ".line_model",
    "FIDData": ".fid_training",
    "FIDTrainSettings": ".fid_training",
    "make_fid_data": ".fid_training",
    "train_fid": ".fid_training",
    "conformal_bands": ".fid_study",
}

__all__ = [
    "AliasingWarning",
    "DEFAULT_DT",
    "METHODS",
    "METHOD_TABLE",
    "MemoryLimitError",
    "N_TIMES",
    "OBSERVABLES",
    "SpinSystem",
    "TOPOLOGIES",
    "default_times",
    "estimate_memory_bytes",
    "n_params",
    "random_system",
    "simulate",
    *sorted(_LAZY),
]

__getattr__ = lazy_exports(__name__, _LAZY)
