"""`nmr-fno:studies`: every study of the FID surrogate in one run, against one trained surrogate.

Without ``surrogate_run`` the surrogate is trained into this run (artifact ``surrogate``); with
``--set surrogate_run=DIR`` the surrogate artifact of that run folder is used read-only (its sha256 is
recorded in the results and the log names the run); ``surrogate_run=pretrained`` uses the one shipped
in the wheel. Studies: accuracy per N and topology beside the first-order formula and the mean
trajectory, split-conformal bands, scaling (speed-up and error in the same row), out-of-range |J|,
the inverse problem (both routes), density-matrix invariants of every classical method (with an
explicit-Euler contrast), and whether Spinach is available. Under ``--nproc K`` the exact simulation
of every data set is split over the ranks (and so is the training here, as in ``nmr-fno:surrogate``);
the studies on those data then run on rank 0.

Light module: numerics and torch are imported inside run().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option


@dataclass
class StudiesConfig:
    surrogate_run: str = option("", help="run folder whose 'surrogate' artifact is used read-only; 'pretrained': the shipped one; empty: train here")
    n_spins: list[int] = option((4, 5, 6, 7, 8, 9, 10), help="N of the training data (when training here)")
    train_counts: list[int] = option((6000, 6000, 8000, 6000, 6000, 3000, 3000), help="training systems per N (when training here)")
    epochs: int = option(30, help="training epochs (when training here)", min=1)
    batch_size: int = option(128, help="training batch size", min=1)
    accumulate: int = option(1, help="batches whose mean gradient makes one optimizer step per process "
                                     "(--nproc K with accumulate=a steps on K*a batches, as one process with K*a)", min=1)
    lr: float = option(2e-3, help="peak learning rate (one-cycle)", min=0.0, min_inclusive=False)
    eval_n: list[int] = option((6, 8, 10), help="N evaluated by every study")
    test_per_n: int = option(200, help="held-out test systems per N", min=4)
    calib_per_n: int = option(500, help="conformal calibration systems per N", min=4)
    timing_repeats: int = option(5, help="timed repeats (exact block method vs surrogate, batch 1, one thread)", min=1)
    ood_j: list[float] = option((20.0, 35.0), help="out-of-range |J| band in Hz (min, max)")
    inverse_n: list[int] = option((4, 6), help="N of the inverse-problem trials")
    inverse_trials: int = option(3, help="noisy FIDs fitted per (N, SNR)", min=1)
    inverse_starts: int = option(4, help="starts per fit (the same for both routes)", min=1)
    snrs: list[float] = option((20.0, 50.0), help="signal-to-noise ratios of the inverse problem")
    conservation_n: list[int] = option((4, 6), help="N of the density-matrix invariant checks")
    conservation_points: int = option(200, help="time points of the invariant checks (task grid spacing)", min=2)
    sim_chunk: int = option(256, help="systems per batched exact simulation (the unit of work split over ranks)", min=1)
    device: str = option("", help="device for training and batched simulation (empty: the run's device)")

    def validate(self) -> None:
        if len(self.train_counts) != len(self.n_spins):
            raise ConfigError("train_counts", f"needs one count per N in n_spins ({len(self.n_spins)}), got {len(self.train_counts)}")
        if any(n < 2 or n > 12 for n in (*self.n_spins, *self.eval_n)):
            raise ConfigError("eval_n", "every N must lie in [2, 12]")
        if len(self.ood_j) != 2 or not 0 < self.ood_j[0] <= self.ood_j[1]:
            raise ConfigError("ood_j", f"expected (min, max) with 0 < min <= max, got {list(self.ood_j)}")
        if any(not s > 0 for s in self.snrs):
            raise ConfigError("snrs", f"every SNR must be > 0, got {list(self.snrs)}")
        if any(n < 2 or n > 8 for n in self.conservation_n):
            raise ConfigError("conservation_n", "full-space propagation: each N must lie in [2, 8]")


QUICK = {"n_spins": [4, 5, 6], "train_counts": [200, 200, 200], "epochs": 3, "batch_size": 32, "eval_n": [4, 6],
         "test_per_n": 24, "calib_per_n": 40, "timing_repeats": 3, "inverse_n": [3], "inverse_trials": 1, "inverse_starts": 2,
         "snrs": [50.0], "conservation_n": [3], "conservation_points": 40}


class StudiesExperiment(Experiment[StudiesConfig]):
    name = "studies"
    summary = "All studies of the FID surrogate (accuracy, bands, scaling with error, OOD, inverse, invariants) with one surrogate."
    config_class = StudiesConfig
    presets = {"quick": QUICK, "paper": {}}

    def check_world_size(self, config: StudiesConfig, world_size: int) -> None:
        """Every configuration splits: the exact simulation of every data set by chunks, the training here by
        batches of each step (as ``nmr-fno:surrogate``); the studies on those data then run on rank 0."""

    def run(self, ctx: RunContext[StudiesConfig]) -> dict[str, Any]:
        from labkit.nmr_fno.experiments._run_fid_studies import run_studies

        return run_studies(ctx)
