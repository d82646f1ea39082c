"""`nmr-fno:inverse`: recover J (and offsets) from noisy FIDs at several SNR, surrogate vs exact simulator.

Light module: torch and the numerics are imported inside run().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option

from .studies import STUDY_QUICK
from .surrogate import SurrogateTrainConfig


@dataclass
class InverseConfig(SurrogateTrainConfig):
    fit_n_spins: int = option(3, help="N of the systems whose couplings are fitted (must be a trained N)", min=2)
    snrs: list[float] = option((10.0, 20.0, 50.0), help="signal-to-noise ratios (noise sigma = 1/SNR)")
    n_systems: int = option(4, help="systems fitted per SNR", min=1)
    fit_offsets: bool = option(False, help="also fit offsets (within +-5 Hz of the template)")
    n_candidates: int = option(32, help="seeded candidate scan before least squares", min=1)

    def validate(self) -> None:
        super().validate()
        if self.fit_n_spins not in self.n_spins:
            raise ConfigError("fit_n_spins", f"must be one of the trained N {list(self.n_spins)}, got {self.fit_n_spins}")
        if any(not s > 0 for s in self.snrs):
            raise ConfigError("snrs", f"every SNR must be > 0, got {list(self.snrs)}")


class InverseExperiment(Experiment[InverseConfig]):
    name = "inverse"
    summary = ("Fit J from noisy FIDs (SNR 10/20/50) through the surrogate (cached) and through the exact block simulator."
               " (Earlier 0.1 s FNO design: nmr-fno:studies runs this study on the fixed task with one shared surrogate.)")
    config_class = InverseConfig
    presets = {"quick": {**STUDY_QUICK, "n_systems": 2, "n_candidates": 16}, "paper": {"n_spins": [3, 4, 6], "train_counts": [20000, 10000, 5000], "n_systems": 20}}

    def run(self, ctx: RunContext[InverseConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_inverse import run_inverse

        return run_inverse(ctx)
