"""Body of `nmr-fno:inverse` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

import torch  # noqa: F401  (loaded before ctx.threads, so torch's thread count is pinned and restored)

from labkit.core import RunContext
from labkit.nmr_fno.experiments.inverse import InverseConfig


def run_inverse(ctx: RunContext[InverseConfig]) -> dict[str, Any]:
    """Run `nmr-fno:inverse`; returns the results dict (headline first)."""
    import time
    from functools import partial

    import numpy as np

    from labkit.nmr_fno.experiments.figures import _fig
    from labkit.nmr_fno.inverse import EvaluationCache, add_noise, exact_forward, fit_couplings, surrogate_forward
    from labkit.nmr_fno.surrogate_pipeline import fit_surrogate
    from labkit.nmr_fno.systems import random_system

    cfg = ctx.config
    with ctx.threads(cfg.torch_threads):  # restores the previous setting on exit
        sur, _, _ = fit_surrogate(ctx, cfg)
        times = sur.spec.times()
        exact = exact_forward(times)
        sur_fwd = surrogate_forward(sur)
        rng = np.random.default_rng([ctx.seed, 17])
        systems = [random_system(cfg.fit_n_spins, cfg.topology, seed=rng, j_range=(cfg.j_min, cfg.j_max),
                                 offset_range=(-cfg.offset_max, cfg.offset_max)) for _ in range(cfg.n_systems)]
        clean = [exact(s) for s in systems]
        caches = {i: EvaluationCache(sur_fwd) for i in range(len(systems))}  # one cache per template, shared over SNRs
        rows: list[dict] = []
        uncached_s = 0.0
        fit = partial(fit_couplings, fit_offsets=cfg.fit_offsets, n_candidates=cfg.n_candidates, seed=ctx.seed)
        for snr in cfg.snrs:
            for i, (s, y) in enumerate(zip(systems, clean, strict=True)):
                fid = add_noise(y, snr, rng)
                true_j = np.array([s.couplings_hz[a, b] for a in range(s.n_spins) for b in range(a + 1, s.n_spins) if s.couplings_hz[a, b]])
                fits = {"surrogate": fit(sur_fwd, s, fid, cache=caches[i]), "exact": fit(exact, s, fid)}
                t0 = time.perf_counter()
                fit(sur_fwd, s, fid)  # same fit without the cache: the cache's speed-up
                uncached_s += time.perf_counter() - t0
                for name, f in fits.items():
                    rows.append({"snr": snr, "system": i, "forward": name, "j_mae_hz": float(np.mean(np.abs(f.couplings - true_j))),
                                 "offset_mae_hz": float(np.mean(np.abs(f.offsets - s.offsets_hz))), "seconds": f.seconds,
                                 "evaluations": f.n_evaluations, "cache_hits": f.cache_hits, "cost": f.cost})
        ctx.write_csv("inverse", rows)
        summary: list[dict[str, Any]] = []
        for snr in cfg.snrs:
            for name in ("surrogate", "exact"):
                sel = [r for r in rows if r["snr"] == snr and r["forward"] == name]
                summary.append({"snr": snr, "forward": name, "j_mae_hz": float(np.mean([r["j_mae_hz"] for r in sel])),
                                "seconds_per_fit": float(np.mean([r["seconds"] for r in sel])),
                                "hit_rate": float(sum(r["cache_hits"] for r in sel) / max(1, sum(r["evaluations"] for r in sel)))})
        cached_s = sum(r["seconds"] for r in rows if r["forward"] == "surrogate")
        ctx.write_csv("inverse_summary", summary)
        fig, ax = _fig()
        for name, mk in (("surrogate", "o-"), ("exact", "s-")):
            ax[0, 0].semilogy(cfg.snrs, [r["j_mae_hz"] for r in summary if r["forward"] == name], mk, label=name)
        ax[0, 0].set_xlabel("SNR")
        ax[0, 0].set_ylabel("mean |J error| (Hz)")
        ax[0, 0].legend()
        ctx.save_figure(fig, "inverse")
        hi = max(cfg.snrs)
        pick = {r["forward"]: r for r in summary if r["snr"] == hi}
        head = {f"j_mae_surrogate_snr{hi:g}": round(pick["surrogate"]["j_mae_hz"], 3), f"j_mae_exact_snr{hi:g}": round(pick["exact"]["j_mae_hz"], 3),
                "s_per_fit_surrogate": round(pick["surrogate"]["seconds_per_fit"], 3), "s_per_fit_exact": round(pick["exact"]["seconds_per_fit"], 3),
                "cache_speedup": round(uncached_s / max(cached_s, 1e-12), 2)}
        return {"headline": head, "summary": summary, "cache": {"uncached_s": uncached_s, "cached_s": cached_s}}
