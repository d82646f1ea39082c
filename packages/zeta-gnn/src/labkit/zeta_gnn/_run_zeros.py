"""Body of ``zeta-gnn:zeros``."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from labkit.core import RunContext

__all__ = ["run_zeros"]


def run_zeros(ctx: RunContext[Any]) -> dict[str, Any]:
    """Compute/cache a range of zeros, write them as a text table, cross-check a few against mpmath."""
    from labkit.zeta_gnn.tables import write_zero_table
    from labkit.zeta_gnn.zeros import _mpmath_zeros, zeta_zeros

    cfg = ctx.config
    workers = cfg.workers or os.cpu_count() or 1
    span = cfg.chunk_size * workers  # one loop step = one chunk per worker, computed in parallel

    def step(k: int) -> None:
        # finished chunks are in the cache at once: a killed run loses at most the chunks in flight
        lo = cfg.start + k * span
        zeta_zeros(lo, min(span, cfg.start + cfg.count - lo), backend=cfg.backend, cache_dir=cfg.cache_dir,
                   workers=workers, chunk_size=cfg.chunk_size)

    n_steps = -(-cfg.count // span)
    t0 = ctx.elapsed_s  # summed over resumed sessions
    # results live in the cache, so the loop state is empty; on resume earlier chunks are re-read
    for k in ctx.loop(n_steps, track={}, name="chunks", desc="chunks"):
        step(k)
    zeros = zeta_zeros(cfg.start, cfg.count, backend=cfg.backend, cache_dir=cfg.cache_dir,
                       chunk_size=cfg.chunk_size)
    seconds = ctx.elapsed_s - t0
    if cfg.write_table:
        write_zero_table(ctx.out_dir / "zeros.txt", zeros,
                         header=f"Riemann zeta zeros {cfg.start}..{cfg.start + cfg.count - 1} (labkit-zeta-gnn)")
    check = {}
    if cfg.check_mpmath:
        idx = np.linspace(0, cfg.count - 1, min(cfg.check_mpmath, cfg.count)).astype(int)
        ref = np.array([_mpmath_zeros(cfg.start + int(i), 1)[0] for i in idx])
        check = {"indices": (cfg.start + idx).tolist(), "max_abs_diff_vs_mpmath": float(np.max(np.abs(ref - zeros[idx])))}
    return {"first": float(zeros[0]), "last": float(zeros[-1]), "seconds": seconds, "mpmath_check": check,
            "headline": {"zeros": cfg.count, "seconds (incl. cache hits)": seconds,
                         "max |flint - mpmath|": check.get("max_abs_diff_vs_mpmath", float("nan"))}}
