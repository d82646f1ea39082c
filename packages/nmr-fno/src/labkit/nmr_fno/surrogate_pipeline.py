"""Shared steps of the older 0.1 s-window studies: data + resumable training, per-N evaluation.

Example (inside an experiment's run)::

    sur, hist, train = fit_surrogate(ctx, cfg)
    rows = evaluate_per_n(sur, test, passes=cfg.mc_passes)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from labkit.core import LabkitError, RunContext, atomic_write_bytes
from labkit.nmr_fno.fno import FNOConfig
from labkit.nmr_fno.surrogate import Surrogate, SurrogateSpec
from labkit.nmr_fno.training import TrainSettings, rmse_per_sample, train_surrogate
from labkit.nmr_fno.training_data import SurrogateData, make_dataset
from labkit.nmr_fno.uncertainty import calibration, mc_dropout_predict

__all__ = ["evaluate_per_n", "fit_surrogate", "held_out_data", "load_run_surrogate", "spec_from_config"]


def spec_from_config(cfg: Any, topology: str | None = None, j_range: tuple[float, float] | None = None) -> SurrogateSpec:
    """The SurrogateSpec (trained range, window) an experiment config describes."""
    return SurrogateSpec(
        n_max=max(cfg.n_spins), n_t=cfg.n_t, t_max=cfg.t_max, n_spins=list(cfg.n_spins),
        offset_range=(-cfg.offset_max, cfg.offset_max), j_range=j_range or (cfg.j_min, cfg.j_max),
        topologies=[topology or cfg.topology],
    )


def fit_surrogate(
    ctx: RunContext, cfg: Any, topology: str | None = None, j_range: tuple[float, float] | None = None, name: str = "train"
) -> tuple[Surrogate, list[dict], SurrogateData]:
    """Generate multi-fidelity training data (seeded by ctx.seed) and train through ``ctx.loop``.

    The optimizer is ``ctx.resolve("optimizer", cfg.optimizer)`` (core's adamw, labkit-qimad's qimad, ...).

    With ``cfg.surrogate_run`` set, the surrogate saved by that run (``{name}-surrogate.pt``) is loaded
    read-only instead (its sha256 is logged and written to ``surrogate_source.json``); the training
    data are still generated, since studies compare against them. The history is then empty.
    """
    spec = spec_from_config(cfg, topology, j_range)
    counts = dict(zip(cfg.n_spins, cfg.train_counts, strict=True))
    if getattr(cfg, "surrogate_run", ""):
        sur = load_run_surrogate(ctx, cfg.surrogate_run, name)
        data = make_dataset(sur.spec, counts, seed=ctx.seed, topology=sur.spec.topologies[0], device=ctx.device)
        return sur, [], data
    data = make_dataset(spec, counts, seed=ctx.seed, topology=spec.topologies[0], loop=ctx.loop, name=f"{name}-data", device=ctx.device)
    torch.manual_seed(ctx.seed)
    fcfg = FNOConfig(modes=cfg.modes, width=cfg.width, n_layers=cfg.n_layers, encoder_width=cfg.encoder_width, dropout=cfg.dropout)
    sur = Surrogate.build(spec, fcfg)
    sur.model.to(ctx.device)
    settings = TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                             physics_weight=cfg.physics_weight, checkpoint_every=10, seed=ctx.seed)
    optimizer = ctx.resolve("optimizer", cfg.optimizer)
    ctx.log.info("training on %d systems (N: %s) for %d epochs with %s", len(data.systems), counts, cfg.epochs, cfg.optimizer)
    hist = train_surrogate(sur, data.x, data.y, settings, loop=lambda total, **kw: ctx.loop(total, **{**kw, "name": name}), log=ctx.log,
                           optimizer=optimizer)
    buf = io.BytesIO()
    torch.save(sur.state_dict(), buf)
    atomic_write_bytes(ctx.out_dir / f"{name}-surrogate.pt", buf.getvalue())
    return sur, hist, data


def load_run_surrogate(ctx: RunContext, folder: str, name: str = "train") -> Surrogate:
    """The surrogate a run folder saved as ``{name}-surrogate.pt``, loaded read-only (weights_only), hash logged."""
    import hashlib
    import json
    from pathlib import Path

    path = Path(folder).expanduser() / f"{name}-surrogate.pt"
    if not path.is_file():
        raise LabkitError(f"surrogate_run: {str(path)!r} does not exist (a run of one of the 0.1 s studies writes it)")
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    sur = Surrogate.from_state_dict(torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True))
    sur.model.to(ctx.device)
    ctx.log.info("using the surrogate of run %s (%s, sha256 %s), read-only: no retraining", Path(folder).resolve(), path.name, sha)
    atomic_write_bytes(ctx.out_dir / "surrogate_source.json", json.dumps({"run": str(Path(folder).resolve()), "file": path.name, "sha256": sha}).encode())
    return sur


def held_out_data(spec: SurrogateSpec, n_values: Sequence[int], per_n: int, seed: int, topology: str = "chain",
              j_range: tuple[float, float] | None = None, device: str = "cpu") -> SurrogateData:
    """Held-out systems: a different seed stream from training (seed + 10**6)."""
    return make_dataset(spec, {n: per_n for n in n_values}, seed=seed + 1_000_000, topology=topology, j_range=j_range, device=device)


def evaluate_per_n(sur: Surrogate, data: SurrogateData, passes: int = 10, label: str = "") -> list[dict]:
    """Per N: RMSE of the deterministic prediction (units of Mx(0)), MC-dropout calibration, channel RMSEs."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OOD studies evaluate outside the range on purpose; they report it
        pred = sur.predict(data.systems, check_range=False)
        mc = mc_dropout_predict(sur, data.systems, passes=passes, check_range=False)
    rows = []
    for n in sorted(set(data.n_spins.tolist())):
        m = data.n_spins == n
        err = rmse_per_sample(pred[m], data.y[m])
        cal = calibration(mc.mean[m], mc.std[m], data.y[m])
        ch = np.sqrt(np.mean((pred[m] - data.y[m]) ** 2, axis=(0, 2)))
        rows.append({
            "set": label, "n_spins": n, "n_test": int(m.sum()), "rmse": float(np.sqrt(np.mean(err**2))),
            "rmse_median": float(np.median(err)), "rmse_max": float(err.max()),
            "rmse_Mx": float(ch[0]), "rmse_My": float(ch[1]), "rmse_I1z": float(ch[2]),
            "mc_rmse": cal["rmse"], "mean_std": cal["mean_std"], "coverage_68": cal["coverage"][0.68],
            "coverage_95": cal["coverage"][0.95], "spearman_std_error": cal["spearman_std_error"],
        })
    return rows
