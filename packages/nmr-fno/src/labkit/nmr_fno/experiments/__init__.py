"""Experiments of labkit-nmr-fno (light module: no torch at import)."""

from .classical import ScalingClassical, Simulate
from .fid_studies import StudiesExperiment
from .inverse import Inverse
from .scaling import Conservation, Scaling, SpinachValidation
from .studies import Calibration, OODCouplings, Topology
from .surrogate import Surrogate

EXPERIMENTS = [Simulate, ScalingClassical, Surrogate, StudiesExperiment, Scaling, SpinachValidation, Conservation, Topology, OODCouplings, Inverse,
               Calibration]

__all__ = [
    "EXPERIMENTS",
    "Calibration",
    "Conservation",
    "Inverse",
    "OODCouplings",
    "Scaling",
    "ScalingClassical",
    "Simulate",
    "SpinachValidation",
    "StudiesExperiment",
    "Surrogate",
    "Topology",
]
