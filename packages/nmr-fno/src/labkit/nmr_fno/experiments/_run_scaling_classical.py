"""Body of `nmr-fno:scaling-classical` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

from labkit.core import RunContext, Tracked
from labkit.nmr_fno.experiments.classical import ScalingConfig


def run_scaling_classical(ctx: RunContext[ScalingConfig]) -> dict[str, Any]:
    """Run `nmr-fno:scaling-classical`; returns the results dict (headline first)."""
    from labkit.nmr_fno.timing import time_or_skip
    from labkit.nmr_fno.timing_report import add_ratios, scaling_figure

    cfg = ctx.config
    points = [(n, m) for n in cfg.n_values for m in cfg.methods]
    rows: list[dict[str, Any]] = []
    track = {"rows": Tracked(lambda: list(rows), lambda v: rows.__setitem__(slice(None), v))}
    loop = ctx.loop(len(points), track=track, name="points", desc="timing points")
    for i in loop:
        n, m = points[i]
        history = [(r["n_spins"], r["median_s"]) for r in rows if r["method"] == m and r["measured"]]
        row = time_or_skip(n, m, history, cfg.skip_above_s, repeats=cfg.repeats, warmup=cfg.warmup,
                           threads=cfg.threads, topology=cfg.topology, device=ctx.device, seed=ctx.seed)
        ctx.log.info("N=%d %-10s %.4g s%s", n, m, row["median_s"], "" if row["measured"] else " (extrapolated)")
        rows.append(row)
    table = add_ratios(rows)
    ctx.write_csv("timing", table)
    ctx.save_figure(scaling_figure(table), "scaling")
    nmax = max(r["n_spins"] for r in table if r["method"] == "exact" and r["measured"]) if any(
        r["method"] == "exact" and r["measured"] for r in table) else None
    headline: dict[str, Any] = {}
    for r in table:
        if nmax is not None and r["n_spins"] == nmax:
            headline[f"{r['method']}_N{nmax}_s"] = r["median_s"]
    return {"headline": headline, "timing": table}
