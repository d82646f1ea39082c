"""`nmr-fno:surrogate` (flagship): train the FID surrogates of the fixed task, evaluate them, save them.

The task is :mod:`labkit.nmr_fno.task` (1 s, 512 points, offsets in +-100 Hz, |J| 5-20 Hz, 1 Hz lines).
The run simulates the training, calibration and test sets (sharded over ranks under ``--nproc``),
trains each kind in ``kinds`` side by side (the physics-structured ``lines`` model and the plain
``fno``), and reports per N the relative-L2 median and p90 against the first-order formula and the
mean trajectory, split-conformal coverage and band width, and the speed-up over the exact block
method. The first kind is stored as artifact ``surrogate`` (others as ``surrogate-<kind>``):
``load_run(DIR).artifact("surrogate")`` is a ready :class:`~labkit.nmr_fno.fid_surrogate.FIDSurrogate`.

``SurrogateTrainConfig`` below is the config of the older 0.1 s-window studies (topology, ood-j,
calibration, scaling, conservation, inverse), which still train that earlier FNO themselves.

Light module: torch and the numerics are imported inside run().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option

_TOPOLOGIES = ("chain", "ring", "star", "random")
_KINDS = ("lines", "fno")  # labkit.nmr_fno.fid_surrogate.KINDS (not imported: it would load numpy and torch paths)


@dataclass
class SurrogateTrainConfig:
    """Data, architecture and training fields of the 0.1 s-window studies (the earlier FNO surrogate)."""

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
    checkpoint_every: int = option(1, help="epochs between checkpoints (resume point)", min=1)
    optimizer: str = option("adamw", help="a registered optimizer (ctx.resolve): adamw (core) or qimad (labkit-qimad)", choices=("adamw", "qimad"))
    mc_passes: int = option(10, help="MC-dropout passes", min=2)
    torch_threads: int = option(0, help="torch intra-op threads (0: leave torch's default)", min=0)
    surrogate_run: str = option("", help="run folder of one of these 0.1 s studies whose train-surrogate.pt is used read-only (empty: train here)")

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
class SurrogateConfig:
    """Configuration of the flagship ``nmr-fno:surrogate`` (the fixed 1 s task)."""

    n_spins: list[int] = option((4, 5, 6, 7, 8, 9, 10), help="spin counts N of the training data")
    train_counts: list[int] = option((6000, 6000, 8000, 6000, 6000, 3000, 3000), help="training systems per N")
    eval_n: list[int] = option((6, 8, 10), help="N evaluated (accuracy, conformal bands)")
    calib_per_n: int = option(500, help="conformal calibration systems per N (seed + 1 stream)", min=2)
    test_per_n: int = option(200, help="held-out test systems per N (seed + 2 stream)", min=2)
    kinds: list[str] = option(_KINDS, help="surrogates trained side by side; the first is the artifact 'surrogate'")
    epochs: int = option(30, help="training epochs", min=1)
    batch_size: int = option(128, help="systems per batch (one N per batch)", min=1)
    accumulate: int = option(1, help="batches whose mean gradient makes one optimizer step per process "
                                     "(--nproc K with accumulate=a steps on K*a batches, as one process with K*a)", min=1)
    lr: float = option(2e-3, help="peak learning rate (one-cycle)", min=0.0, min_inclusive=False)
    weight_decay: float = option(1e-6, help="decoupled weight decay", min=0.0)
    checkpoint_every: int = option(1, help="epochs between checkpoints (resume point)", min=1)
    optimizer: str = option("adamw", help="a registered optimizer (ctx.resolve): adamw, sgd, ... (core), qimad (labkit-qimad)")
    lines_hidden: int = option(96, help="lines: width of the coupling-graph network", min=1)
    lines_head_width: int = option(256, help="lines: width of the per-spin line-correction head", min=1)
    lines_slots: int = option(5, help="lines: strongest neighbours whose multiplet lines are corrected", min=1, max=8)
    fno_modes: int = option(64, help="fno: kept rfft modes", min=1, max=257)
    fno_width: int = option(32, help="fno: channels of the Fourier layers", min=1)
    fno_layers: int = option(4, help="fno: Fourier layers", min=1)
    sim_chunk: int = option(256, help="systems per batched exact simulation (the unit of work split over ranks)", min=1)
    timing: bool = option(True, help="time surrogate vs exact block method (batch 1, one CPU thread; batch 256 on CUDA)")
    timing_n: int = option(10, help="N of the timing", min=2, max=12)
    timing_repeats: int = option(5, help="timed repeats", min=1)
    torch_threads: int = option(0, help="torch intra-op threads (0: leave torch's default)", min=0)

    def validate(self) -> None:
        if len(self.train_counts) != len(self.n_spins):
            raise ConfigError("train_counts", f"needs one count per N in n_spins ({len(self.n_spins)}), got {len(self.train_counts)}")
        if any(c < 1 for c in self.train_counts):
            raise ConfigError("train_counts", f"every count must be >= 1, got {list(self.train_counts)}")
        if any(n < 2 or n > 12 for n in (*self.n_spins, *self.eval_n)) or not self.eval_n:
            raise ConfigError("eval_n", f"n_spins and eval_n: each N must lie in [2, 12], got {list(self.n_spins)} and {list(self.eval_n)}")
        if not self.kinds or len(set(self.kinds)) != len(self.kinds) or any(k not in _KINDS for k in self.kinds):
            raise ConfigError("kinds", f"distinct kinds from {list(_KINDS)}, got {list(self.kinds)}")
        if self.optimizer == "qimad" and self.weight_decay:
            raise ConfigError("weight_decay", f"QIMAD has no weight decay: set weight_decay=0 with optimizer=qimad, got {self.weight_decay}")


QUICK = {"n_spins": [4, 5, 6], "train_counts": [300, 300, 300], "eval_n": [4, 6], "calib_per_n": 40, "test_per_n": 24,
         "epochs": 6, "batch_size": 32, "lr": 3e-3, "lines_hidden": 48, "lines_head_width": 128, "fno_width": 12, "fno_layers": 2,
         "fno_modes": 24, "timing_n": 8, "timing_repeats": 2, "torch_threads": 1}


class SurrogateExperiment(Experiment[SurrogateConfig]):
    """Flagship: the FID surrogates of the fixed task, side by side, against both baselines; saved as artifacts."""

    name = "surrogate"
    summary = ("Train the FID surrogates (lines, fno) of the 1 s / 512-point task; per-N relative L2 vs first-order and "
               "mean-trajectory baselines, conformal bands, speed-up; saves the surrogate.")
    config_class = SurrogateConfig
    presets = {
        "quick": QUICK,
        # the shipped pretrained/fid_surrogate.pt: the defaults on one GPU (`--device cuda`)
        "paper": {},
        # per GPU and optimizer step: one batch of 2048 N = 8 systems (16,384 spins, 32 lines each) through a wide line model
        "scale": {"n_spins": [8], "train_counts": [12288], "eval_n": [8], "calib_per_n": 100, "test_per_n": 100, "kinds": ["lines"],
                  "epochs": 40, "batch_size": 2048, "lines_hidden": 256, "lines_head_width": 1024, "checkpoint_every": 20,
                  "timing": False},
    }
    flagship = True

    def check_world_size(self, config: SurrogateConfig, world_size: int) -> None:
        """Every configuration splits: data generation by chunks, training by batches of each step."""

    def run(self, ctx: RunContext[SurrogateConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_surrogate import run_surrogate

        return run_surrogate(ctx)
