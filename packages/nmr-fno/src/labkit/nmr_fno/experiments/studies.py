"""Generalisation and calibration studies of the surrogate: topology, out-of-distribution J, uncertainty.

Light module: torch and the numerics are imported inside run().
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option

from .surrogate import QUICK, SurrogateTrainConfig

STUDY_QUICK = {**QUICK, "n_spins": [3, 4], "train_counts": [300, 150], "test_per_n": 20, "epochs": 8}


def _summary(rows: list[dict]) -> dict[str, float]:
    return {f"rmse_{r['set']}_N{r['n_spins']}": round(r["rmse"], 4) for r in rows}


class Topology(Experiment):
    name = "topology"
    summary = "Train on chains, test on chains, rings and stars (generalisation across coupling graphs)."
    config_class = SurrogateTrainConfig
    presets = {"quick": STUDY_QUICK, "paper": {"n_spins": [4, 6, 8], "train_counts": [20000, 10000, 5000], "test_per_n": 200}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from labkit.nmr_fno.experiments.figures import bars_figure
        from labkit.nmr_fno.surrogate_pipeline import apply_threads, evaluate_per_n, fit_surrogate, held_out_data

        cfg = ctx.config
        apply_threads(cfg)
        sur, _, _ = fit_surrogate(ctx, cfg, topology="chain")
        rows = []
        for topo in ("chain", "ring", "star"):
            data = held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, topology=topo)
            rows += evaluate_per_n(sur, data, cfg.mc_passes, label=topo)
        ctx.write_csv("topology", rows)
        ctx.save_figure(bars_figure([{**r, "label": f"{r['set']} N={r['n_spins']}"} for r in rows], "label", "rmse", "RMSE"), "topology")
        head = _summary([r for r in rows if r["n_spins"] == max(cfg.n_spins)])
        return {"headline": head, "rows": rows}


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


class OODCouplings(Experiment):
    name = "ood-j"
    summary = "Train with J in 5-20 Hz; test in-range, 1-5 Hz and 20-35 Hz; OOD flags and MC-dropout std."
    config_class = OODConfig
    presets = {"quick": STUDY_QUICK, "paper": {"n_spins": [4, 6, 8], "train_counts": [20000, 10000, 5000], "test_per_n": 200}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import warnings

        from labkit.nmr_fno.experiments.figures import bars_figure
        from labkit.nmr_fno.surrogate import OutOfRangeWarning
        from labkit.nmr_fno.surrogate_pipeline import apply_threads, evaluate_per_n, fit_surrogate, held_out_data

        cfg: OODConfig = ctx.config
        apply_threads(cfg)
        sur, _, _ = fit_surrogate(ctx, cfg)
        rows = []
        for label, jr in cfg.j_bands():
            data = held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, cfg.topology, j_range=jr)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", OutOfRangeWarning)
                sur.warn_if_out_of_range(data.systems)
            for r in evaluate_per_n(sur, data, cfg.mc_passes, label=label):
                r["flagged_fraction"] = sum(1 for w in caught if issubclass(w.category, OutOfRangeWarning)) / len(data.systems)
                rows.append(r)
        ctx.write_csv("ood_j", rows)
        ctx.save_figure(bars_figure([{**r, "label": f"{r['set']} N={r['n_spins']}"} for r in rows], "label", "rmse", "RMSE"), "ood_j")
        top = [r for r in rows if r["n_spins"] == max(cfg.n_spins)]
        head = {**_summary(top), **{f"std_{r['set']}": round(r["mean_std"], 4) for r in top}}
        return {"headline": head, "rows": rows}


@dataclass
class CalibrationConfig(SurrogateTrainConfig):
    calibration_fraction: float = option(0.5, help="share of held-out systems used to fit the std scale", min=0.1, max=0.9)


class Calibration(Experiment):
    name = "calibration"
    summary = "MC-dropout calibration: coverage of nominal intervals (raw and with a fitted std scale), std-error correlation."
    config_class = CalibrationConfig
    presets = {"quick": STUDY_QUICK, "paper": {"n_spins": [4, 6, 8], "train_counts": [20000, 10000, 5000], "test_per_n": 400}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import numpy as np
        from scipy import stats

        from labkit.nmr_fno.experiments.figures import _fig
        from labkit.nmr_fno.surrogate_pipeline import apply_threads, fit_surrogate, held_out_data
        from labkit.nmr_fno.uncertainty import calibration, mc_dropout_predict

        cfg: CalibrationConfig = ctx.config
        apply_threads(cfg)
        sur, _, _ = fit_surrogate(ctx, cfg)
        data = held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, cfg.topology)
        mc = mc_dropout_predict(sur, data.systems, passes=cfg.mc_passes, check_range=False)
        n_fit = int(len(data.systems) * cfg.calibration_fraction)
        perm = np.random.default_rng(ctx.seed).permutation(len(data.systems))
        fit_i, test_i = perm[:n_fit], perm[n_fit:]
        # one scale s for std so that the 68% interval covers 68% on the fitting half (then tested on the other)
        z = np.abs(mc.mean[fit_i] - data.y[fit_i]) / np.maximum(mc.std[fit_i], 1e-12)
        scale = float(np.quantile(z, 0.68) / stats.norm.ppf(0.84))
        raw = calibration(mc.mean[test_i], mc.std[test_i], data.y[test_i])
        scaled = calibration(mc.mean[test_i], scale * mc.std[test_i], data.y[test_i])
        levels = sorted(raw["coverage"])
        rows = [{"level": p, "coverage_raw": raw["coverage"][p], "coverage_scaled": scaled["coverage"][p]} for p in levels]
        ctx.write_csv("coverage", rows)
        fig, ax = _fig()
        ax[0, 0].plot([0, 1], [0, 1], "k--", lw=0.8)
        ax[0, 0].plot(levels, [r["coverage_raw"] for r in rows], "o-", label="raw MC dropout")
        ax[0, 0].plot(levels, [r["coverage_scaled"] for r in rows], "s-", label=f"std x {scale:.2f}")
        ax[0, 0].set_xlabel("nominal coverage")
        ax[0, 0].set_ylabel("empirical coverage")
        ax[0, 0].legend()
        ctx.save_figure(fig, "calibration")
        head = {"coverage95_raw": round(raw["coverage"][0.95], 3), "coverage95_scaled": round(scaled["coverage"][0.95], 3),
                "nominal": 0.95, "std_scale": round(scale, 3), "spearman_std_error": round(raw["spearman_std_error"], 3)}
        return {"headline": head, "coverage": rows, "raw": raw, "scaled": scaled}
