"""Classical-simulator experiments: `nmr-fno:simulate` (one system) and `nmr-fno:scaling-classical` (timing).

Light module: numpy/matplotlib/simulators are imported inside run(), never torch at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option
from labkit.nmr_fno.methods import METHOD_TABLE, methods_with

_TOPOLOGIES = ("chain", "ring", "star", "random")
_METHODS = tuple(METHOD_TABLE)
_SWEEPABLE = tuple(m for m, info in METHOD_TABLE.items() if "optional" not in info.flags)


@dataclass
class SimulateConfig:
    n_spins: int = option(6, help="number of coupled spin-1/2 nuclei", min=1, max=20)
    topology: str = option("chain", help="coupling graph of the random system", choices=_TOPOLOGIES)
    system_seed: int = option(0, help="seed of the random offsets and couplings", min=0)
    method: str = option("exact", help="simulation method", choices=_METHODS)
    n_times: int = option(300, help="number of time points", min=2)
    dt: float = option(1.0e-3, help="time step in seconds (complex FID band = +-1/(2 dt) Hz)", min=0.0, min_inclusive=False)
    reference_max_spins: int = option(8, help="also run the dense-expm reference and report the error up to this N", min=0, max=12)


class SimulateExperiment(Experiment[SimulateConfig]):
    name = "simulate"
    summary = "Simulate one random spin system: FID (Mx, My), I1z and the spectrum, checked against brute force."
    config_class = SimulateConfig
    presets = {"quick": {"n_spins": 6}, "paper": {"n_spins": 12, "reference_max_spins": 8}}

    def run(self, ctx: RunContext[SimulateConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_simulate import run_simulate

        return run_simulate(ctx)


@dataclass
class ScalingConfig:
    n_values: list[int] = option((4, 6, 8, 10, 12), help="spin counts to time")
    methods: list[str] = option(methods_with("timed"), help="methods to time")
    repeats: int = option(5, help="timed repeats per point", min=1)
    warmup: int = option(1, help="untimed warm-up calls per point", min=0)
    threads: int = option(1, help="BLAS/torch threads pinned during timing", min=1)
    skip_above_s: float = option(120.0, help="skip a point whose extrapolated total time exceeds this", min=0.0)
    topology: str = option("random", help="topology of the timed systems", choices=_TOPOLOGIES)

    def validate(self) -> None:
        bad = [m for m in self.methods if m not in _SWEEPABLE]
        if bad or not self.methods:
            raise ConfigError("methods", f"allowed: {list(_SWEEPABLE)}, got {self.methods}")
        if not self.n_values or any(n < 1 or n > 20 for n in self.n_values):
            raise ConfigError("n_values", f"spin counts must lie in [1, 20], got {self.n_values}")


class ScalingClassicalExperiment(Experiment[ScalingConfig]):
    name = "scaling-classical"
    summary = "Seconds per 300-point FID vs N for every classical method (median + IQR), with ratios."
    config_class = ScalingConfig
    presets = {
        "quick": {"n_values": [4, 6, 8], "repeats": 3, "skip_above_s": 10.0},
        "paper": {"n_values": [4, 6, 8, 10, 12, 14], "repeats": 5, "skip_above_s": 600.0},
    }

    def run(self, ctx: RunContext[ScalingConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_scaling_classical import run_scaling_classical

        return run_scaling_classical(ctx)
