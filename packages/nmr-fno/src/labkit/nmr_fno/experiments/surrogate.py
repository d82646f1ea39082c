"""`nmr-fno:surrogate` (flagship): train the FNO surrogate, evaluate it on held-out systems, time it.

Light module: torch and the numerics are imported inside run().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option

_TOPOLOGIES = ("chain", "ring", "star", "random")


@dataclass
class SurrogateTrainConfig:
    """Data, architecture and training fields shared by every surrogate experiment."""

    n_spins: list[int] = option((3, 4, 5, 6), help="spin counts N of the training data (the model pads to max N)")
    train_counts: list[int] = option((800, 400, 200, 100), help="training systems per N (multi-fidelity: many small, few large)")
    test_per_n: int = option(50, help="held-out systems per N", min=1)
    topology: str = option("chain", help="coupling graph of training systems", choices=_TOPOLOGIES)
    j_min: float = option(5.0, help="smallest |J| in Hz of the training range", min=0.0)
    j_max: float = option(20.0, help="largest |J| in Hz of the training range", min=0.0, min_inclusive=False)
    offset_max: float = option(100.0, help="offsets drawn in [-offset_max, offset_max] Hz", min=0.0, min_inclusive=False)
    n_t: int = option(300, help="time points of the surrogate's window", min=16)
    t_max: float = option(0.1, help="window length in seconds (lines must stay below modes / t_max Hz)", min=0.0, min_inclusive=False)
    modes: int = option(24, help="kept rfft modes k = 0..modes-1 per spectral convolution", min=1)
    width: int = option(32, help="channels of the Fourier layers", min=1)
    n_layers: int = option(6, help="Fourier layers", min=1)
    encoder_width: int = option(128, help="width of the 2-layer parameter encoder", min=1)
    dropout: float = option(0.1, help="channel dropout (MC-dropout uncertainty)", min=0.0, max=1.0, max_inclusive=False)
    epochs: int = option(200, help="training epochs", min=1)
    batch_size: int = option(16, help="mini-batch size", min=1)
    lr: float = option(1e-3, help="AdamW learning rate (cosine-annealed to 0)", min=0.0, min_inclusive=False)
    weight_decay: float = option(1e-5, help="decoupled weight decay (AdamW); 0 with optimizer 'qimad', which has none", min=0.0)
    physics_weight: float = option(0.01, help="weight of each physics penalty (initial values, |M| <= 1)", min=0.0)
    optimizer: str = option("adamw", help="a registered optimizer (ctx.resolve): adamw (core) or qimad (labkit-qimad)", choices=("adamw", "qimad"))
    mc_passes: int = option(10, help="MC-dropout passes", min=2)
    torch_threads: int = option(0, help="torch intra-op threads (0: leave torch's default)", min=0)
    surrogate_run: str = option("", help="run folder of nmr-fno:surrogate whose train-surrogate.pt is used read-only (empty: train here)")

    def validate(self) -> None:
        if len(self.train_counts) != len(self.n_spins):
            raise ConfigError("train_counts", f"needs one count per N in n_spins ({len(self.n_spins)}), got {len(self.train_counts)}")
        if any(n < 2 or n > 12 for n in self.n_spins):
            raise ConfigError("n_spins", f"each N must lie in [2, 12], got {list(self.n_spins)}")
        if any(c < 1 for c in self.train_counts):
            raise ConfigError("train_counts", "every count must be >= 1")
        if self.j_min > self.j_max:
            raise ConfigError("j_min", f"must be <= j_max ({self.j_max}), got {self.j_min}")
        if self.optimizer == "qimad" and self.weight_decay:
            raise ConfigError("weight_decay", f"QIMAD has no weight decay: set weight_decay=0 with optimizer=qimad, got {self.weight_decay}")
        if self.n_t // 2 + 1 < self.modes:
            raise ConfigError("modes", f"n_t={self.n_t} has only {self.n_t // 2 + 1} rfft modes, got modes={self.modes}")


@dataclass
class SurrogateConfig(SurrogateTrainConfig):
    timing_repeats: int = option(5, help="timed repeats per point", min=1)
    timing_batch: int = option(64, help="batch size of the batched inference timing", min=1)


QUICK = {"n_spins": [3, 4, 5], "train_counts": [320, 160, 80], "test_per_n": 20, "epochs": 10, "lr": 2e-3, "torch_threads": 1}


class SurrogateExperiment(Experiment[SurrogateConfig]):
    name = "surrogate"
    summary = "Train the FNO surrogate on multi-fidelity exact data; held-out RMSE, MC-dropout calibration, speed-up vs the block method."
    config_class = SurrogateConfig
    presets = {
        "quick": {**QUICK, "timing_repeats": 3},
        # full scale: hours on one GPU; data generation dominates at N = 12 (~0.3-0.7 s per system on CPU)
        "paper": {"n_spins": [4, 6, 8, 10, 12], "train_counts": [20000, 10000, 5000, 2000, 500], "test_per_n": 200,
                  "epochs": 200, "width": 64},
    }
    flagship = True

    def run(self, ctx: RunContext[SurrogateConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_surrogate import run_surrogate

        return run_surrogate(ctx)
