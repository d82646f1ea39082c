"""Body of `nmr-fno:conservation` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

import torch

from labkit.core import RunContext
from labkit.nmr_fno.experiments.scaling import ConservationConfig


def run_conservation(ctx: RunContext[ConservationConfig]) -> dict[str, Any]:
    """Run `nmr-fno:conservation`; returns the results dict (headline first)."""
    import numpy as np

    from labkit.nmr_fno.experiments.figures import bars_figure
    from labkit.nmr_fno.physics_loss import physics_penalties
    from labkit.nmr_fno.simulate import simulate
    from labkit.nmr_fno.surrogate_pipeline import fit_surrogate, held_out_data
    from labkit.nmr_fno.systems import random_system

    cfg = ctx.config
    with ctx.threads(cfg.torch_threads):  # restores the previous setting on exit
        dt = cfg.t_max / cfg.n_t
        times = np.arange(cfg.long_points) * dt
        rows: list[dict[str, Any]] = []
        for n in cfg.long_n:
            system = random_system(n, cfg.topology, seed=ctx.seed)
            ref = simulate(system, times, "exact")
            for m in ("exact", "krylov", "chebyshev"):
                out = simulate(system, times, m)
                y = torch.tensor(np.stack([out["Mx"], out["My"], out["I1z"]]))[None]
                pen = physics_penalties(y)
                drift = np.abs(np.stack([out[c] - ref[c] for c in ("Mx", "My", "I1z")]))
                rows.append({"source": m, "n_spins": n, "t_end_s": float(times[-1]), "initial": float(pen["initial"]),
                             "max_norm_excess": float(max(0.0, (np.hypot(out["Mx"], out["My"]) - 1).max())),
                             "max_abs_I1z_excess": float(max(0.0, (np.abs(out["I1z"]) - 1).max())),
                             "max_dev_from_exact_last_10pct": float(drift[:, -len(times) // 10 :].max())})
        sur, _, _ = fit_surrogate(ctx, cfg)
        data = held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, cfg.topology)
        pred = torch.tensor(sur.predict(data.systems, check_range=False))
        pen = physics_penalties(pred)
        norm = torch.hypot(pred[:, 0], pred[:, 1])
        rows.append({"source": "surrogate", "n_spins": max(cfg.n_spins), "t_end_s": float(sur.spec.times()[-1]), "initial": float(pen["initial"]),
                     "max_norm_excess": float(torch.clamp(norm - 1, min=0).max()),
                     "max_abs_I1z_excess": float(torch.clamp(pred[:, 2].abs() - 1, min=0).max()),
                     "fraction_points_norm_violated": float((norm > 1).float().mean())})
        ctx.write_csv("conservation", rows)
        ctx.save_figure(bars_figure([{**r, "label": f"{r['source']} N={r['n_spins']}", "v": max(r["max_norm_excess"], 1e-17)} for r in rows],
                                    "label", "v", "max(|M| - 1, 0)"), "conservation")
        worst_classical = max(r["max_norm_excess"] for r in rows if r["source"] != "surrogate")
        return {"headline": {"norm_excess_classical_max": float(f"{worst_classical:.3g}"), "norm_excess_surrogate": float(f"{rows[-1]['max_norm_excess']:.3g}"),
                             "surrogate_points_violating": round(rows[-1]["fraction_points_norm_violated"], 4)}, "rows": rows}
