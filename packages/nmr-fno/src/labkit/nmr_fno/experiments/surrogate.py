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
    weight_decay: float = option(1e-5, help="AdamW weight decay", min=0.0)
    physics_weight: float = option(0.01, help="weight of each physics penalty (initial values, |M| <= 1)", min=0.0)
    optimizer: str = option("adamw", help="optimizer", choices=("adamw", "qimad"))
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
        if self.n_t // 2 + 1 < self.modes:
            raise ConfigError("modes", f"n_t={self.n_t} has only {self.n_t // 2 + 1} rfft modes, got modes={self.modes}")


@dataclass
class SurrogateConfig(SurrogateTrainConfig):
    timing_repeats: int = option(5, help="timed repeats per point", min=1)
    timing_batch: int = option(64, help="batch size of the batched inference timing", min=1)


QUICK = {"n_spins": [3, 4, 5], "train_counts": [320, 160, 80], "test_per_n": 20, "epochs": 10, "lr": 2e-3, "torch_threads": 1}


class Surrogate(Experiment):
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

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from labkit.nmr_fno.experiments.figures import per_n_figure, training_figure, trajectory_figure
        from labkit.nmr_fno.surrogate import band_limit_error
        from labkit.nmr_fno.surrogate_pipeline import (
            apply_threads,
            evaluate_per_n,
            fit_surrogate,
            held_out_data,
            time_side_by_side,
        )

        cfg: SurrogateConfig = ctx.config
        apply_threads(cfg)
        sur, hist, train = fit_surrogate(ctx, cfg)
        test = held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, cfg.topology, device=ctx.device)
        rows = evaluate_per_n(sur, test, cfg.mc_passes, label="held-out")
        import numpy as np
        import torch

        mean_traj = train.y.mean(axis=0, keepdims=True)  # reference: the best constant-in-parameters predictor
        with torch.no_grad():  # reference: the analytic weak-coupling solution the residual model starts from
            first = sur.model._first_order(sur.encode(test.systems), cfg.n_t).cpu().numpy()
        for r in rows:
            m = test.n_spins == r["n_spins"]
            r["rmse_mean_baseline"] = float(np.sqrt(np.mean((test.y[m] - mean_traj) ** 2)))
            r["rmse_first_order"] = float(np.sqrt(np.mean((test.y[m] - first[m]) ** 2)))
            r["band_limit_rmse"] = band_limit_error(test.y[m], cfg.modes)
        by_n = {n: [s for s, k in zip(test.systems, test.n_spins, strict=True) if k == n] for n in cfg.n_spins}
        timing = time_side_by_side(sur, by_n, repeats=cfg.timing_repeats, batch=cfg.timing_batch, device=ctx.device)
        for r, t in zip(rows, timing, strict=True):
            r.update(t)
        ctx.write_csv("per_n", rows)
        ctx.write_csv("history", hist)
        ctx.save_figure(training_figure(hist), "training")
        ctx.save_figure(per_n_figure(rows, cfg.timing_batch), "rmse_speedup")
        ctx.save_figure(trajectory_figure(sur, test), "trajectories")
        top = rows[-1]
        headline = {
            "N": top["n_spins"],
            "rmse_surrogate": round(top["rmse"], 4),
            "rmse_mean_baseline": round(top["rmse_mean_baseline"], 4),
            "rmse_first_order": round(top["rmse_first_order"], 4),
            "exact_block_s": float(f"{top['exact_s']:.3g}"),
            "surrogate_b1_s": float(f"{top['surrogate_b1_s']:.3g}"),
            "speedup_vs_block_b1": round(top["speedup_b1"], 2),
            f"speedup_vs_block_b{cfg.timing_batch}": round(top[f"speedup_b{cfg.timing_batch}"], 2),
            "coverage_95": round(top["coverage_95"], 3),
        }
        if not getattr(cfg, "surrogate_run", ""):
            sur.save_artifact(ctx)
        from labkit.nmr_fno.systems import random_system

        probe = sur.predict([random_system(max(cfg.n_spins), "chain", seed=123)], check_range=False)[0, 0, :16].tolist()
        return {"headline": headline, "per_n": rows, "final_epoch": hist[-1] if hist else None, "probe_mx": probe,
                "note": "RMSE in units of Mx(0) over Mx, My, I1z; times per trajectory, threads=1, same run. "
                        "No speed case below N~8: exact simulation there takes milliseconds."}
