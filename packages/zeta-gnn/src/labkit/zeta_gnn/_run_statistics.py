"""Body of ``zeta-gnn:statistics``."""

from __future__ import annotations

<<<<<<< HEAD:packages/zeta-gnn/src/labkit/zeta_gnn/_run_misc.py
import os
=======
>>>>>>> artifacts:packages/zeta-gnn/src/labkit/zeta_gnn/_run_statistics.py
from typing import Any

import numpy as np

from labkit.core import LabkitError, RunContext

__all__ = ["run_statistics"]


<<<<<<< HEAD:packages/zeta-gnn/src/labkit/zeta_gnn/_run_misc.py
def run_zeros(ctx: RunContext) -> dict[str, Any]:
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
    for k in ctx.loop(n_steps, state=lambda: {}, restore=lambda s: None, name="chunks", desc="chunks"):
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


def run_statistics(ctx: RunContext) -> dict[str, Any]:
=======
def run_statistics(ctx: RunContext[Any]) -> dict[str, Any]:
>>>>>>> artifacts:packages/zeta-gnn/src/labkit/zeta_gnn/_run_statistics.py
    """Spacing law, KS distances, <r>, pair correlation of true zeros (Odlyzko-style)."""
    import matplotlib.pyplot as plt

    from labkit.zeta_gnn._figures import spacing_histogram
    from labkit.zeta_gnn.baseline import unfold, unfolded_spacings
    from labkit.zeta_gnn.spectral import (
        bogomolny_neff,
        gue_pair_correlation,
        ks_distance,
        pair_correlation,
        sample_wigner,
        spacing_law,
        spacing_ratio,
        wigner_cdf,
    )
    from labkit.zeta_gnn.tables import ZeroTableError, read_zero_table
    from labkit.zeta_gnn.zeros import zeta_zeros

    cfg = ctx.config
    if cfg.data_path:
        try:
            zeros = read_zero_table(cfg.data_path)
        except ZeroTableError as exc:
            raise LabkitError(str(exc)) from None
    else:
        zeros = zeta_zeros(cfg.start, cfg.count, backend=cfg.backend, cache_dir=cfg.cache_dir)
    s = unfolded_spacings(zeros)
    height = float(np.median(zeros))
    laws = {"wigner": spacing_law("wigner"), "gaudin": spacing_law("gaudin")}
    if bogomolny_neff(height) > 1.5:
        laws["bogomolny"] = spacing_law("bogomolny", height=height)
    ks = {k: ks_distance(s, law.cdf_at if k != "wigner" else wigner_cdf) for k, law in laws.items()}
    # sampling noise of KS at this n: the KS of surmise samples of the same size to the surmise
    noise = float(np.median([ks_distance(sample_wigner(s.size, r), wigner_cdf) for r in range(5)]))
    u, r2 = pair_correlation(unfold(zeros))
    spacing_var = float(s.var())
    law_var = {k: law.moments()[1] for k, law in laws.items()}
    mean_ratio_r = spacing_ratio(s)
    results = {
        "n_spacings": int(s.size), "median_height": height, "n_eff_bogomolny": bogomolny_neff(height),
        "spacing_mean": float(s.mean()), "spacing_var": spacing_var,
        "law_var": law_var,
        "ks": ks, "ks_sampling_noise": noise, "mean_ratio_r": mean_ratio_r,
        "pair_corr_rms_dev": float(np.sqrt(np.mean((r2 - gue_pair_correlation(u)) ** 2))),
    }
    fig, ax = plt.subplots(figsize=(6, 4))
    spacing_histogram(ax, {"zeros": s})
    ctx.save_figure(fig, "spacings")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(u, r2, label="zeros")
    ax.plot(u, gue_pair_correlation(u), "k--", label="1 − (sin πu/πu)²")
    ax.set_xlabel("u")
    ax.legend()
    ctx.save_figure(fig, "pair_correlation")
    results["headline"] = {"spacing var (zeros)": spacing_var, "var Gaudin": law_var["gaudin"],
                           "KS vs Gaudin": ks["gaudin"], "KS noise": noise, "<r> zeros": mean_ratio_r,
                           "<r> GUE surmise": 0.60266}
    return results
