"""`nmr-fno:scaling`, `nmr-fno:conservation`, `nmr-fno:spinach`: surrogate vs every classical method.

Light module: torch and the numerics are imported inside run().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option
from labkit.nmr_fno.methods import methods_with

from .studies import STUDY_QUICK
from .surrogate import SurrogateTrainConfig

_CLASSICAL = methods_with("timed")


@dataclass
class ScalingConfig(SurrogateTrainConfig):
    timing_n: list[int] = option((4, 6, 8, 10, 12), help="spin counts timed (the exact block method is always measured)")
    methods: list[str] = option(_CLASSICAL, help="classical methods timed")
    skip_above_s: float = option(30.0, help="skip a (method, N) predicted to take longer than this in total", min=0.0)
    timing_repeats: int = option(3, help="timed repeats per point", min=1)

    def validate(self) -> None:
        super().validate()
        bad = [m for m in self.methods if m not in _CLASSICAL]
        if bad:
            raise ConfigError("methods", f"unknown methods {bad}; choose from {_CLASSICAL}")
        if "exact" not in self.methods:
            raise ConfigError("methods", "must include 'exact' (the block method every speed-up is measured against)")
        if any(n < 2 or n > 16 for n in self.timing_n):
            raise ConfigError("timing_n", f"each N must lie in [2, 16], got {list(self.timing_n)}")


class ScalingExperiment(Experiment[ScalingConfig]):
    name = "scaling"
    summary = ("Time and RMSE vs N of every classical method and the surrogate; speed-up vs the fastest classical method."
               " (Earlier 0.1 s FNO design: nmr-fno:studies runs this study on the fixed task with one shared surrogate.)")
    config_class = ScalingConfig
    presets = {"quick": {**STUDY_QUICK, "timing_n": [4, 6, 8, 10], "skip_above_s": 5.0},
               "paper": {"n_spins": [4, 6, 8, 10, 12], "train_counts": [20000, 10000, 5000, 2000, 500], "timing_n": [4, 6, 8, 10, 12, 14], "timing_repeats": 5}}

    def run(self, ctx: RunContext[ScalingConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_scaling import run_scaling

        return run_scaling(ctx)


@dataclass
class ConservationConfig(SurrogateTrainConfig):
    long_n: list[int] = option((4, 6), help="spin counts of the long trajectories")
    long_points: int = option(3000, help="points of the long trajectory (same dt as the surrogate window)", min=10)


class ConservationExperiment(Experiment[ConservationConfig]):
    name = "conservation"
    summary = ("Exact identities (M(0), |M| <= 1, |I1z| <= 1) over long trajectories for each simulator and for the surrogate."
               " (Earlier 0.1 s FNO design: nmr-fno:studies runs this study on the fixed task with one shared surrogate.)")
    config_class = ConservationConfig
    presets = {"quick": {**STUDY_QUICK, "epochs": 4, "long_points": 3000}, "paper": {"long_n": [4, 6, 8, 10], "long_points": 30000}}

    def run(self, ctx: RunContext[ConservationConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_conservation import run_conservation

        return run_conservation(ctx)


@dataclass
class SpinachConfig:
    n_t: int = option(300, help="time points", min=2)
    t_max: float = option(0.1, help="window in seconds", min=0.0, min_inclusive=False)


class SpinachExperiment(Experiment[SpinachConfig]):
    name = "spinach"
    summary = "Compare the exact simulator with MATLAB Spinach on nmrsim's published AB and ABC systems (reports unavailable without MATLAB)."
    config_class = SpinachConfig
    presets = {"quick": {}, "paper": {"n_t": 2000}}

    def run(self, ctx: RunContext[SpinachConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_spinach import run_spinach

        return run_spinach(ctx)
