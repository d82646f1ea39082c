"""Body of `nmr-fno:scaling` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

import torch

from labkit.core import ConfigError, RunContext
from labkit.nmr_fno.experiments.scaling import ScalingConfig


def run_scaling(ctx: RunContext[ScalingConfig]) -> dict[str, Any]:
    """Run `nmr-fno:scaling`; returns the results dict (headline first)."""
    import numpy as np

    from labkit.core import measure
    from labkit.nmr_fno.experiments.figures import _fig
    from labkit.nmr_fno.fno import FNO1d
    from labkit.nmr_fno.simulate import simulate
    from labkit.nmr_fno.surrogate import encode_systems
    from labkit.nmr_fno.surrogate_pipeline import evaluate_per_n, fit_surrogate, held_out_data
    from labkit.nmr_fno.systems import random_system
    from labkit.nmr_fno.timing import extrapolate

    cfg = ctx.config
    with ctx.threads(cfg.torch_threads):  # restores the previous setting on exit
        sur, _, _ = fit_surrogate(ctx, cfg)
        acc = {r["n_spins"]: r["rmse"] for r in evaluate_per_n(sur, held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, cfg.topology), cfg.mc_passes)}
        times = sur.spec.times()
        # inference cost does not depend on the weights: time an architecture sized for the largest timed N
        n_big = max(max(cfg.timing_n), sur.spec.n_max)
        timing_model = FNO1d(type(sur.model.config)(**{**sur.model.architecture(), "n_max": n_big})).eval()
        rows: list[dict] = []
        history: dict[str, list] = {m: [] for m in cfg.methods}
        for n in ctx.progress(sorted(cfg.timing_n), desc="N"):
            system = random_system(n, cfg.topology, seed=ctx.seed)
            ref = simulate(system, times, "exact")
            for m in cfg.methods:
                pred = extrapolate(history[m], n)
                # the block method is the reference of every speed-up: always measured, never extrapolated
                if m != "exact" and pred is not None and pred * (cfg.timing_repeats + 1) > cfg.skip_above_s:
                    rows.append({"n_spins": n, "method": m, "seconds": pred, "measured": False, "rmse": None})
                    continue
                out = simulate(system, times, m)
                sec = measure(simulate, system, times, m, warmup=0, repeats=cfg.timing_repeats, threads=1).median
                history[m].append((n, sec))
                err = float(np.sqrt(np.mean([(out[c] - ref[c]) ** 2 for c in ("Mx", "My", "I1z")])))
                rows.append({"n_spins": n, "method": m, "seconds": sec, "measured": True, "rmse": err})
            x = torch.from_numpy(encode_systems([system], n_big))
            with torch.no_grad():
                sec = measure(timing_model, x, warmup=2, repeats=10, threads=1).median
            rows.append({"n_spins": n, "method": "surrogate", "seconds": sec, "measured": True, "rmse": acc.get(n)})
        for n in sorted(cfg.timing_n):
            fastest = min((r for r in rows if r["n_spins"] == n and r["method"] != "surrogate" and r["measured"]), key=lambda r: r["seconds"])
            for r in rows:
                if r["n_spins"] == n:
                    r["fastest_classical"] = fastest["method"]
                    # a speed-up is reported only beside its error: none for the surrogate at an untrained N
                    known = r["method"] != "surrogate" or r["rmse"] is not None
                    r["speedup_vs_fastest"] = fastest["seconds"] / r["seconds"] if known else None
        ctx.write_csv("scaling", rows)
        fig, ax = _fig()
        for m in (*cfg.methods, "surrogate"):
            pts = [(r["n_spins"], r["seconds"]) for r in rows if r["method"] == m and r["measured"]]
            if pts:
                ax[0, 0].semilogy([p[0] for p in pts], [p[1] for p in pts], "o-", label=m)
        ax[0, 0].set_xlabel("N spins")
        ax[0, 0].set_ylabel("seconds per trajectory (1 thread)")
        ax[0, 0].legend(fontsize=7)
        ctx.save_figure(fig, "scaling")
        top = max(n for n in cfg.timing_n if n in acc) if any(n in acc for n in cfg.timing_n) else None
        if top is None:
            raise ConfigError("timing_n", f"needs at least one trained N {list(cfg.n_spins)}: a speed-up is reported only with its error")
        s_row = next(r for r in rows if r["n_spins"] == top and r["method"] == "surrogate")
        fastest_s = next(r["seconds"] for r in rows if r["n_spins"] == top and r["method"] == s_row["fastest_classical"])
        head = {"N": top, "fastest_classical": s_row["fastest_classical"], "fastest_classical_s": float(f"{fastest_s:.3g}"),
                "surrogate_s": float(f"{s_row['seconds']:.3g}"), "speedup_vs_fastest": round(s_row["speedup_vs_fastest"], 2),
                "surrogate_rmse": round(s_row["rmse"], 4)}
        return {"headline": head, "rows": rows, "surrogate_rmse_trained_n": acc}
