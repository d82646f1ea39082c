"""Generalisation and calibration studies of the surrogate: topology, out-of-distribution J, uncertainty.

Light module: torch and the numerics are imported inside run().
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option

from .surrogate import SurrogateTrainConfig

STUDY_QUICK = {"n_spins": [3, 4], "train_counts": [300, 150], "test_per_n": 20, "epochs": 8, "lr": 2e-3, "torch_threads": 1}


def _summary(rows: list[dict]) -> dict[str, float]:
    return {f"rmse_{r['set']}_N{r['n_spins']}": round(r["rmse"], 4) for r in rows}


class TopologyExperiment(Experiment[SurrogateTrainConfig]):
    name = "topology"
    summary = ("Train on chains, test on chains, rings and stars (generalisation across coupling graphs)."
               " (Earlier 0.1 s FNO design: nmr-fno:studies runs this study on the fixed task with one shared surrogate.)")
    config_class = SurrogateTrainConfig
    presets = {"quick": STUDY_QUICK, "paper": {"n_spins": [4, 6, 8], "train_counts": [20000, 10000, 5000], "test_per_n": 200}}

    def run(self, ctx: RunContext[SurrogateTrainConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_topology import run_topology

        return run_topology(ctx)


@dataclass
class OODConfig(SurrogateTrainConfig):
    ood_low: list[float] = option((1.0, 5.0), help="low out-of-distribution |J| band in Hz (min, max)")
    ood_high: list[float] = option((20.0, 35.0), help="high out-of-distribution |J| band in Hz (min, max)")

    def validate(self) -> None:
        super().validate()
        for name, band in (("ood_low", self.ood_low), ("ood_high", self.ood_high)):
            # checked here, not after training: random_system needs a finite (low, high) with low <= high
            if len(band) != 2 or not all(math.isfinite(v) for v in band) or band[0] > band[1]:
                raise ConfigError(name, f"expected two finite |J| values (min, max) with min <= max, got {list(band)}")

    def j_bands(self) -> list[tuple[str, tuple[float, float]]]:
        """(label, (min, max) |J| in Hz) of the test sets: the trained range, then the low and high OOD bands."""
        (low_min, low_max), (high_min, high_max) = self.ood_low, self.ood_high
        return [("in-range", (self.j_min, self.j_max)), ("low", (low_min, low_max)), ("high", (high_min, high_max))]


class OODCouplingsExperiment(Experiment[OODConfig]):
    name = "ood-j"
    summary = ("Train with J in 5-20 Hz; test in-range, 1-5 Hz and 20-35 Hz; OOD flags and MC-dropout std."
               " (Earlier 0.1 s FNO design: nmr-fno:studies runs this study on the fixed task with one shared surrogate.)")
    config_class = OODConfig
    presets = {"quick": STUDY_QUICK, "paper": {"n_spins": [4, 6, 8], "train_counts": [20000, 10000, 5000], "test_per_n": 200}}

    def run(self, ctx: RunContext[OODConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_ood_j import run_ood_j

        return run_ood_j(ctx)


@dataclass
class CalibrationConfig(SurrogateTrainConfig):
    calibration_fraction: float = option(0.5, help="share of held-out systems used to fit the std scale", min=0.1, max=0.9)


class CalibrationExperiment(Experiment[CalibrationConfig]):
    name = "calibration"
    summary = ("MC-dropout calibration: coverage of nominal intervals (raw and with a fitted std scale), std-error correlation."
               " (Earlier 0.1 s FNO design: nmr-fno:studies runs this study on the fixed task with one shared surrogate.)")
    config_class = CalibrationConfig
    presets = {"quick": STUDY_QUICK, "paper": {"n_spins": [4, 6, 8], "train_counts": [20000, 10000, 5000], "test_per_n": 400}}

    def run(self, ctx: RunContext[CalibrationConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_calibration import run_calibration

        return run_calibration(ctx)
