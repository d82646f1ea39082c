"""Body of ``son-qttn:hybrid`` (JAX loaded here, not at plugin import)."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core import RunContext
from labkit.son_qttn import figures
from labkit.son_qttn._precision import precision_scope
from labkit.son_qttn._run_common import images_of
from labkit.son_qttn.config import HybridConfig

__all__ = ["run_hybrid"]


def _rlc_demo(ctx: RunContext[Any]) -> dict[str, Any]:
    """Coupled noisy RLC bank on a ring: trajectories, phase portrait, energy (figure + numbers)."""
    import jax

    from labkit.son_qttn.rlc import RLCBank, simulate_rlc
    from labkit.son_qttn.topology import make_coupling

    n, dt, steps, every = 64, 0.01, 4000, 10
    rng = np.random.default_rng(ctx.seed)
    bank = RLCBank(R=rng.uniform(0.05, 0.15, n), L=np.ones(n), C=rng.uniform(0.5, 2.0, n), kT=1e-3,
                   coupling=make_coupling("ring", (n,)), coupling_strength=0.2)
    q_dev, i_dev = simulate_rlc(bank, rng.standard_normal(n), np.zeros(n), dt, steps, record_every=every, key=jax.random.PRNGKey(ctx.seed))
    q, i = np.asarray(q_dev), np.asarray(i_dev)
    e = np.asarray(bank.energy(q, i)).mean(1)
    t = dt * every * (np.arange(len(q)) + 1)
    ctx.save_figure(figures.trajectories_figure(t, q, i, e), "rlc_trajectories")
    return {"rlc_energy_start": float(e[0]), "rlc_energy_end": float(e[-1]), "rlc_equipartition_kT": 1e-3}


def run_hybrid(ctx: RunContext[HybridConfig]) -> dict[str, Any]:
    """The feedback loop, resumable per cycle; saves the final SON state and its QTT as artifacts."""
    from labkit.son_qttn.artifacts import QTTField, SONState
    from labkit.son_qttn.hybrid import HybridLoop, svd_baseline

    cfg = ctx.config
    images = images_of(cfg)
    with precision_scope(cfg.precision):
        loop_state = HybridLoop(cfg, images, ctx.seed)
        for _ in ctx.loop(cfg.n_cycles, track={"hybrid": loop_state}, checkpoint_every=5, name="cycles",
                          desc="feedback cycles"):
            loop_state.cycle()
        hist = loop_state.history
        ctx.write_csv("cycles", hist)
        state = SONState.from_loop(loop_state, cfg)
        qtt = QTTField.compress(state.v, cfg.qttn.svd_tolerance, cfg.qttn.rank_truncation, cfg.precision)
        tt, final_v, recon = qtt.tt, state.v, qtt.reconstruct()
        ctx.save_artifact("son_state", state, factory="son-state", kind="simulator", config=state.config,
                          description=f"final SON field and potential after {len(hist)} cycles ({final_v.shape[0]} images "
                                      f"{final_v.shape[1]}x{final_v.shape[2]}, {cfg.precision})")
        ctx.save_artifact("qtt", qtt, factory="qtt-field", kind="dataset", config=qtt.config,
                          description=f"QTT of the final SON field: ranks {'-'.join(map(str, tt.ranks))}, "
                                      f"{tt.compression_ratio:.1f}x smaller, error bound {tt.error_bound:.3g}")
        k_svd, mse_svd = svd_baseline(final_v, tt.n_params)
        ctx.save_figure(figures.cycles_figure(hist), "cycles")
        ctx.save_figure(figures.image_grid_figure(final_v, recon, title="SON field vs QTT reconstruction"), "reconstruction")
        ctx.save_figure(figures.ranks_figure(tt.ranks), "tt_ranks")
        ctx.save_figure(figures.loop_diagram_figure(), "loop_diagram")
        rlc = _rlc_demo(ctx)
    last = hist[-1]
    return {
        "headline": {
            "qtt_compression_ratio": last["compression_ratio"],
            "qtt_recon_mse": float(np.mean((recon - final_v) ** 2)),
            "svd_recon_mse_same_params": mse_svd,
            "energy_final": state.energy(),
            "amplitude_final": last["amplitude"],
        },
        "tt_ranks": list(tt.ranks),
        "svd_rank_same_params": k_svd,
        "bound_held_every_cycle": all(h["bound_holds"] for h in hist),
        "cycles": hist,
        **rlc,
    }
