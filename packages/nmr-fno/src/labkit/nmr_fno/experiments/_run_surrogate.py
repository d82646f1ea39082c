"""Body of `nmr-fno:surrogate` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

import torch

from labkit.core import RunContext
from labkit.nmr_fno.experiments.surrogate import SurrogateConfig


def run_surrogate(ctx: RunContext[SurrogateConfig]) -> dict[str, Any]:
    """Run `nmr-fno:surrogate`; returns the results dict (headline first)."""
    from labkit.nmr_fno.experiments.figures import per_n_figure, training_figure, trajectory_figure
    from labkit.nmr_fno.surrogate import band_limit_error
    from labkit.nmr_fno.surrogate_pipeline import (
        evaluate_per_n,
        fit_surrogate,
        held_out_data,
        time_side_by_side,
    )

    cfg = ctx.config
    with ctx.threads(cfg.torch_threads):  # restores the previous setting on exit
        sur, hist, train = fit_surrogate(ctx, cfg)
        test = held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, cfg.topology, device=ctx.device)
        rows = evaluate_per_n(sur, test, cfg.mc_passes, label="held-out")
        import numpy as np

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
