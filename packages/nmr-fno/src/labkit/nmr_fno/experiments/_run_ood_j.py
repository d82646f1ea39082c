"""Body of `nmr-fno:ood-j` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

import torch  # noqa: F401  (loaded before ctx.threads, so torch's thread count is pinned and restored)

from labkit.core import RunContext
from labkit.nmr_fno.experiments.studies import OODConfig, _summary


def run_ood_j(ctx: RunContext[OODConfig]) -> dict[str, Any]:
    """Run `nmr-fno:ood-j`; returns the results dict (headline first)."""
    import warnings

    from labkit.nmr_fno.experiments.figures import bars_figure
    from labkit.nmr_fno.surrogate import OutOfRangeWarning
    from labkit.nmr_fno.surrogate_pipeline import evaluate_per_n, fit_surrogate, held_out_data

    cfg = ctx.config
    with ctx.threads(cfg.torch_threads):  # restores the previous setting on exit
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
