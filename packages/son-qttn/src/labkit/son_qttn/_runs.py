"""Bodies of the three experiments (JAX loaded here, not at plugin import)."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core import LabkitError, RunContext
from labkit.son_qttn import figures
from labkit.son_qttn._precision import precision_scope
from labkit.son_qttn.data import IDXFormatError, load_images


def _images(cfg: Any) -> np.ndarray:
    try:
        return load_images(cfg.dataset, n_images=cfg.n_images, path=cfg.data_path)
    except (IDXFormatError, ValueError) as exc:
        raise LabkitError(str(exc)) from None


def _rlc_demo(ctx: RunContext) -> dict[str, Any]:
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


def run_hybrid(ctx: RunContext) -> dict[str, Any]:
    """The feedback loop, resumable per cycle."""
    from labkit.son_qttn.hybrid import HybridLoop, svd_baseline

    cfg = ctx.config
    images = _images(cfg)
    with precision_scope(cfg.precision):
        loop_state = HybridLoop(cfg, images, ctx.seed)
        loop = ctx.loop(cfg.n_cycles, state=loop_state.get_state, restore=loop_state.set_state, checkpoint_every=5, name="cycles", desc="feedback cycles")
        for _ in loop:
            loop_state.cycle()
        hist = loop_state.history
        ctx.write_csv("cycles", hist)
        from labkit.son_qttn.hybrid import compress_field

        final_v = np.asarray(loop_state.v)
        tt, recon_dev = compress_field(loop_state.v, cfg.qttn.svd_tolerance, cfg.qttn.rank_truncation)
        recon = np.asarray(recon_dev)
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
            "energy_final": last["energy"],
            "amplitude_final": last["amplitude"],
        },
        "tt_ranks": list(tt.ranks),
        "svd_rank_same_params": k_svd,
        "bound_held_every_cycle": all(h["bound_holds"] for h in hist),
        "cycles": hist,
        **rlc,
    }


def run_compress(ctx: RunContext) -> dict[str, Any]:
    """Rate-distortion of TT (plain modes), QTT and truncated SVD, one point per tolerance."""
    from labkit.son_qttn.qtt import to_qtt_tensor
    from labkit.son_qttn.tt import tt_svd

    cfg = ctx.config
    x = _images(cfg)
    rows: list[dict[str, Any]] = []
    with precision_scope(cfg.precision):
        norm = float(np.linalg.norm(x))
        tensors = {"tt": x, "qtt": np.asarray(to_qtt_tensor(x))}
        loop = ctx.loop(len(cfg.tolerances), state=lambda: {"rows": list(rows)}, restore=lambda s: rows.__setitem__(slice(None), s["rows"]), name="tolerances")
        for k in loop:
            tol = cfg.tolerances[k]
            for method, t in tensors.items():
                tt = tt_svd(t, tol=tol)
                err = float(np.linalg.norm(np.asarray(tt.full()) - t)) / norm
                rows.append({"method": method, "tol": tol, "n_params": tt.n_params, "rel_error": err,
                             "bound_holds": err <= tol * (1 + 1e-9), "ranks": "-".join(map(str, tt.ranks)),
                             "enlarges": tt.enlarges})
                if tt.enlarges:
                    ctx.log.warning("%s at tol %g stores %d numbers for %d: the train is larger than the data "
                                    "(compression ratio %.2f)", method, tol, tt.n_params, t.size, tt.compression_ratio)
    mat = x.reshape(len(x), -1)
    _u, s, _vt = np.linalg.svd(mat, full_matrices=False)
    tails = np.sqrt(np.maximum(np.cumsum((s**2)[::-1])[::-1], 0.0)) / norm
    for r in range(1, len(s)):
        n_params = r * (mat.shape[0] + mat.shape[1] + 1)
        rows.append({"method": "svd", "tol": float("nan"), "n_params": n_params,
                     "rel_error": float(tails[r]), "bound_holds": True, "ranks": str(r), "enlarges": n_params > x.size})
    ctx.write_csv("rate_distortion", rows)
    ctx.save_figure(figures.rate_distortion_figure(rows), "rate_distortion")

    def params_at(method: str, target: float) -> float:
        pts = sorted((r["rel_error"], r["n_params"]) for r in rows if r["method"] == method)
        ok = [p for e, p in pts if e <= target]
        return float(min(ok)) if ok else float("nan")

    target = 0.1
    return {
        "headline": {f"{m}_params_at_10pct": params_at(m, target) for m in ("qtt", "tt", "svd")}
        | {"full_size": int(x.size), "bound_held": all(r["bound_holds"] for r in rows),
           "enlarging_points": sum(bool(r["enlarges"]) for r in rows)},
        "rows": rows,
    }


def run_ebm(ctx: RunContext) -> dict[str, Any]:
    """Langevin samplers on a Gaussian EBM, then the thrml Ising EBM on binarised digits."""
    cfg = ctx.config
    with precision_scope(cfg.precision):
        out = _langevin_part(ctx, cfg)
        out.update(_ising_part(ctx, cfg))
    out["headline"] = {k: out[k] for k in ("mala_max_rel_cov_err", "baoab_max_rel_cov_err", "ula_max_rel_cov_err",
                                            "ula_err_vs_its_analytic_bias", "ula_analytic_bias", "ising_inpaint_error",
                                            "marginal_inpaint_error")}
    return out


def _langevin_part(ctx: RunContext, cfg: Any) -> dict[str, Any]:
    from labkit.son_qttn.langevin import gaussian_precision, langevin_sample, max_rel_cov_error, ula_stationary_cov

    a = gaussian_precision(cfg.dim, seed=ctx.seed)
    exact = np.linalg.inv(a)
    out: dict[str, Any] = {"n_samples": cfg.n_chains * cfg.n_steps}
    for method, h in (("ula", cfg.step_ula), ("mala", cfg.step_mala), ("baoab", cfg.step_baoab)):
        r = langevin_sample(a, method=method, h=h, n_chains=cfg.n_chains, n_steps=cfg.n_steps, n_burn=500, seed=ctx.seed)
        out[f"{method}_max_rel_cov_err"] = max_rel_cov_error(r.cov, exact)
        out[f"{method}_acceptance"] = r.acceptance
        out[f"{method}_step"] = h
        if method == "ula":
            # two references: the target A^-1 (bias + noise) and ULA's own exact stationary covariance (noise only)
            biased = ula_stationary_cov(a, h)
            out["ula_err_vs_its_analytic_bias"] = max_rel_cov_error(r.cov, biased)
            out["ula_analytic_bias"] = max_rel_cov_error(biased, exact)
    return out


def _ising_part(ctx: RunContext, cfg: Any) -> dict[str, Any]:
    import jax

    from labkit.son_qttn.ising import IsingImageModel, inpaint, train_ising

    x = load_images("digits", n_images=cfg.n_images) > 0.5
    h, w = x.shape[1:]
    data = x.reshape(len(x), -1)
    n_train = max(1, int(0.8 * len(data)))
    train, test = data[:n_train], data[n_train:] if n_train < len(data) else data[:1]
    model = IsingImageModel.lattice(h, w)
    history: list[dict[str, Any]] = []
    key_box = [np.asarray(jax.random.PRNGKey(ctx.seed))]

    def get() -> dict[str, Any]:
        return {"b": model.biases, "w": model.weights, "key": key_box[0], "history": list(history)}

    def put(s: dict[str, Any]) -> None:
        model.biases, model.weights, key_box[0] = np.asarray(s["b"]), np.asarray(s["w"]), np.asarray(s["key"])
        history[:] = s["history"]

    chunk = 10
    n_chunks = -(-cfg.train_steps // chunk)
    loop = ctx.loop(n_chunks, state=get, restore=put, name="ising", desc="KL-gradient steps")
    for c in loop:
        key, sub = jax.random.split(jax.numpy.asarray(key_box[0], dtype=jax.numpy.uint32))
        steps = min(chunk, cfg.train_steps - c * chunk)
        history.extend(train_ising(model, train, sub, steps=steps, lr=cfg.lr, n_chains=cfg.gibbs_chains,
                                   n_warmup=cfg.gibbs_sweeps, n_samples=cfg.gibbs_sweeps))
        key_box[0] = np.asarray(key)
    res = inpaint(model, test, jax.random.PRNGKey(ctx.seed + 1), n_sweeps=50)
    baseline = float(np.mean((train.mean(0) > 0.5)[None, res["mask"]] != test[:, res["mask"]]))
    ctx.write_csv("ising_training", history)
    ctx.save_figure(figures.energy_convergence_figure({"Ising chains": res["energy_trace"]}), "ising_energy")
    ctx.save_figure(figures.image_grid_figure(test.reshape(-1, h, w), res["prediction"].reshape(-1, h, w),
                                              title="bottom half inpainted by block Gibbs"), "ising_inpaint")
    return {"ising_inpaint_error": res["error"], "marginal_inpaint_error": baseline,
            "ising_energy_trace": res["energy_trace"], "ising_final_moment_gap": history[-1]["edge_moment_gap"]}
