"""Body of `nmr-fno:calibration` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

import torch  # noqa: F401  (loaded before ctx.threads, so torch's thread count is pinned and restored)

from labkit.core import RunContext
from labkit.nmr_fno.experiments.studies import CalibrationConfig


def run_calibration(ctx: RunContext[CalibrationConfig]) -> dict[str, Any]:
    """Run `nmr-fno:calibration`; returns the results dict (headline first)."""
    import numpy as np
    from scipy import stats

    from labkit.nmr_fno.experiments.figures import _fig
    from labkit.nmr_fno.surrogate_pipeline import fit_surrogate, held_out_data
    from labkit.nmr_fno.uncertainty import calibration, mc_dropout_predict

    cfg = ctx.config
    with ctx.threads(cfg.torch_threads):  # restores the previous setting on exit
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
