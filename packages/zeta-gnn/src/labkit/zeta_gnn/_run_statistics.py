"""Body of ``zeta-gnn:statistics``."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core import LabkitError, RunContext

__all__ = ["run_statistics"]


def run_statistics(ctx: RunContext[Any]) -> dict[str, Any]:
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
