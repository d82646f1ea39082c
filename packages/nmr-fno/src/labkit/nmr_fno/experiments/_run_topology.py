"""Body of `nmr-fno:topology` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

import torch  # noqa: F401  (loaded before ctx.threads, so torch's thread count is pinned and restored)

from labkit.core import RunContext
from labkit.nmr_fno.experiments.studies import _summary
from labkit.nmr_fno.experiments.surrogate import SurrogateTrainConfig


def run_topology(ctx: RunContext[SurrogateTrainConfig]) -> dict[str, Any]:
    """Run `nmr-fno:topology`; returns the results dict (headline first)."""
    from labkit.nmr_fno.experiments.figures import bars_figure
    from labkit.nmr_fno.surrogate_pipeline import evaluate_per_n, fit_surrogate, held_out_data

    cfg = ctx.config
    with ctx.threads(cfg.torch_threads):  # restores the previous setting on exit
        sur, _, _ = fit_surrogate(ctx, cfg, topology="chain")
        rows = []
        for topo in ("chain", "ring", "star"):
            data = held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, topology=topo)
            rows += evaluate_per_n(sur, data, cfg.mc_passes, label=topo)
        ctx.write_csv("topology", rows)
        ctx.save_figure(bars_figure([{**r, "label": f"{r['set']} N={r['n_spins']}"} for r in rows], "label", "rmse", "RMSE"), "topology")
        head = _summary([r for r in rows if r["n_spins"] == max(cfg.n_spins)])
        return {"headline": head, "rows": rows}
