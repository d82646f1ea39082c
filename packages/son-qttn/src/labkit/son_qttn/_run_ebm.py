"""Body of ``son-qttn:ebm``: Langevin samplers on a Gaussian EBM, then the thrml Ising EBM on binarised digits."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core import RunContext
from labkit.son_qttn import figures
from labkit.son_qttn._precision import precision_scope
from labkit.son_qttn.config import EBMConfig
from labkit.son_qttn.data import load_images

__all__ = ["run_ebm"]


def run_ebm(ctx: RunContext[EBMConfig]) -> dict[str, Any]:
    """Langevin samplers on a Gaussian EBM, then the thrml Ising EBM on binarised digits."""
    cfg = ctx.config
    with precision_scope(cfg.precision):
        out = _langevin_part(ctx, cfg)
        out.update(_ising_part(ctx, cfg))
    out["headline"] = {k: out[k] for k in ("mala_max_rel_cov_err", "baoab_max_rel_cov_err", "ula_max_rel_cov_err",
                                            "ula_err_vs_its_analytic_bias", "ula_analytic_bias", "ising_inpaint_error",
                                            "marginal_inpaint_error")}
    return out


def _langevin_part(ctx: RunContext[EBMConfig], cfg: Any) -> dict[str, Any]:
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


def _ising_part(ctx: RunContext[EBMConfig], cfg: Any) -> dict[str, Any]:
    import jax

    from labkit.core import Tracked
    from labkit.son_qttn.ising import IsingImageModel, inpaint, train_ising

    x = load_images("digits", n_images=cfg.n_images) > 0.5
    h, w = x.shape[1:]
    data = x.reshape(len(x), -1)
    n_train = max(1, int(0.8 * len(data)))
    train, test = data[:n_train], data[n_train:] if n_train < len(data) else data[:1]
    model = IsingImageModel.lattice(h, w)
    history: list[dict[str, Any]] = []
    key_box = [np.asarray(jax.random.PRNGKey(ctx.seed))]

    track = {
        "biases": Tracked(lambda: model.biases, lambda b: setattr(model, "biases", np.asarray(b))),
        "weights": Tracked(lambda: model.weights, lambda w: setattr(model, "weights", np.asarray(w))),
        "key": Tracked(lambda: key_box[0], lambda k: key_box.__setitem__(0, np.asarray(k))),
        "history": Tracked(lambda: list(history), lambda h: history.__setitem__(slice(None), h)),
    }
    chunk = 10
    n_chunks = -(-cfg.train_steps // chunk)
    for c in ctx.loop(n_chunks, track=track, name="ising", desc="KL-gradient steps"):
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
