"""Experiments of labkit-nmr-fno (light module: no torch at import).

Each module here declares configs and ``*Experiment`` classes; the bodies live in ``_run_<name>.py``
and are imported only when the experiment runs.
"""

from .classical import ScalingClassicalExperiment, SimulateExperiment
from .fid_studies import StudiesExperiment
from .inverse import InverseExperiment
from .scaling import ConservationExperiment, ScalingExperiment, SpinachExperiment
from .studies import CalibrationExperiment, OODCouplingsExperiment, TopologyExperiment
from .surrogate import SurrogateExperiment

EXPERIMENTS = [SimulateExperiment, ScalingClassicalExperiment, SurrogateExperiment, StudiesExperiment, ScalingExperiment,
               SpinachExperiment, ConservationExperiment, TopologyExperiment, OODCouplingsExperiment, InverseExperiment,
               CalibrationExperiment]

__all__ = [
    "EXPERIMENTS",
    "CalibrationExperiment",
    "ConservationExperiment",
    "InverseExperiment",
    "OODCouplingsExperiment",
    "ScalingClassicalExperiment",
    "ScalingExperiment",
    "SimulateExperiment",
    "SpinachExperiment",
    "StudiesExperiment",
    "SurrogateExperiment",
    "TopologyExperiment",
]
