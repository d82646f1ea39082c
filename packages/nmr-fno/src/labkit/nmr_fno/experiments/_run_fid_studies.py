"""Body of `nmr-fno:studies` (imported only when the experiment runs: numpy, torch, the simulators)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from labkit.core import LabkitError, RunContext, measure
from labkit.nmr_fno.experiments.fid_studies import StudiesConfig
from labkit.nmr_fno.fid_study import conformal_bands
from labkit.nmr_fno.fid_surrogate import ARTIFACT_NAME, FIDSpec, FIDSurrogate
from labkit.nmr_fno.fid_training import FIDTrainSettings, make_fid_data, simulate_sharded, train_fid
from labkit.nmr_fno.surrogate import OutOfRangeWarning
from labkit.nmr_fno.task import TASK_TIMES, TASK_TOPOLOGIES, broaden, first_order_fid, relative_l2, task_system

OBS = ("Mx", "My")


def _surrogate(ctx: RunContext[StudiesConfig], cfg: StudiesConfig, device: str) -> tuple[FIDSurrogate, dict[str, Any]]:
    """The one surrogate of the run and where it came from (run folder and sha256 of its weights)."""
    src = cfg.surrogate_run.strip()
    if src == "pretrained":
        ctx.log.info("using the surrogate shipped in the package (labkit/nmr_fno/pretrained/fid_surrogate.pt)")
        return FIDSurrogate.pretrained(), {"source": "pretrained"}
    if src:
        from labkit.core import load_run

        folder = Path(src).expanduser()
        try:
            run = load_run(folder)
        except LabkitError as err:
            raise LabkitError(f"surrogate_run: {err}") from None
        if ARTIFACT_NAME not in run.artifacts:
            raise LabkitError(f"surrogate_run: run {str(folder)!r} has no {ARTIFACT_NAME!r} artifact (it has: {sorted(run.artifacts) or 'none'})")
        record = json.loads((folder / "artifacts" / ARTIFACT_NAME / "artifact.json").read_text())
        sha = record["tensors"]["sha256"]
        sur = FIDSurrogate.load(run)
        ctx.log.info("using the surrogate of run %s (artifact %r, sha256 %s), read-only: no retraining", folder.resolve(), ARTIFACT_NAME, sha)
        return sur, {"source": "run", "run": str(folder.resolve()), "sha256": sha, "experiment": run.experiment}
    import torch

    counts = dict(zip(cfg.n_spins, cfg.train_counts, strict=True))
    ctx.log.info("training the surrogate into this run: %s systems per N, %d epochs, on %s", counts, cfg.epochs, device)
    data = make_fid_data(counts, ctx.seed, device, chunk=cfg.sim_chunk, ctx=ctx)
    torch.manual_seed(ctx.seed)  # the same initial weights on every rank
    sur = FIDSurrogate.build("lines", FIDSpec(n_spins=sorted(counts)))
    sur.model.to(device)
    train_fid(sur, data, FIDTrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=ctx.seed,
                                           accumulate=cfg.accumulate),
              loop=ctx.loop, log=ctx.log.info, optimizer=ctx.resolve("optimizer", "adamw"), name="train-surrogate", ctx=ctx)
    sur.model.to("cpu")
    path = sur.save_artifact(ctx)
    if not ctx.is_main:  # rank 0 alone writes the artifact
        return sur, {"source": "trained here"}
    sha = json.loads((path / "artifact.json").read_text())["tensors"]["sha256"]
    return sur, {"source": "trained here", "run": str(ctx.out_dir.resolve()), "sha256": sha, "train_systems": int(sum(counts.values()))}


def _data_sets(cfg: StudiesConfig, seed: int) -> dict[tuple[str, int], list]:
    """Every evaluation set, by (role, N): held-out test, conformal calibration and out-of-range |J| systems."""
    sets: dict[tuple[str, int], list] = {}
    for n in cfg.eval_n:
        for role, stream, count, extra in (("test", 2, cfg.test_per_n, {}), ("calib", 1, cfg.calib_per_n, {}),
                                           ("ood", 3, max(6, cfg.test_per_n // 4), {"j_range": tuple(cfg.ood_j)})):
            rng = np.random.default_rng([seed + stream, n])
            sets[role, n] = [task_system(n, TASK_TOPOLOGIES[i % 3], rng, **extra) for i in range(count)]
    return sets


def _pred(sur: FIDSurrogate, systems: list) -> np.ndarray:
    p = sur.predict(systems, check_range=False)
    return np.stack([p["Mx"], p["My"]], axis=1)


def _rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return relative_l2(a[:, 0], a[:, 1], b[:, 0], b[:, 1])


def run_studies(ctx: RunContext[StudiesConfig]) -> dict[str, Any]:
    """All studies; returns the results dict (headline first)."""
    import torch

    cfg = ctx.config
    device = cfg.device or ctx.local_device
    sur, provenance = _surrogate(ctx, cfg, device)
    sur.model.to("cpu").eval()
    # the systems are drawn alike on every rank; their exact simulation is split over the ranks
    sets = _data_sets(cfg, ctx.seed)
    exact = {key: np.stack([broaden(a[k], TASK_TIMES) for k in range(len(OBS))], axis=1)
             for key, a in simulate_sharded(sets, device, cfg.sim_chunk, ctx, OBS).items()}
    if not ctx.is_main:  # the studies on these data run on rank 0
        return {}
    res: dict[str, Any] = {"surrogate": provenance}

    # accuracy per N and topology, and the calibration (conformal) sets
    acc, bands, scaling = [], [], []
    for n in cfg.eval_n:
        test, cal = sets["test", n], sets["calib", n]
        ex_t, ex_c = exact["test", n], exact["calib", n]
        p_t, p_c = _pred(sur, test), _pred(sur, cal)
        fo = broaden(first_order_fid(test), TASK_TIMES)
        err = _rel(p_t, ex_t)
        e_fo = _rel(np.stack([fo.real, fo.imag], 1), ex_t)
        e_mean = _rel(np.broadcast_to(ex_c.mean(0), ex_t.shape), ex_t)  # mean trajectory of an independent set
        row = {"n_spins": n, "n_test": len(test), "surrogate_median": float(np.median(err)), "surrogate_p90": float(np.quantile(err, 0.9)),
               "first_order_median": float(np.median(e_fo)), "first_order_p90": float(np.quantile(e_fo, 0.9)),
               "mean_median": float(np.median(e_mean)), "mean_p90": float(np.quantile(e_mean, 0.9))}
        for k, topo in enumerate(TASK_TOPOLOGIES):
            row[f"surrogate_median_{topo}"] = float(np.median(err[k::3]))
        acc.append(row)
        bands.append({"n_spins": n, "calibration_systems": len(cal), "test_systems": len(test), **conformal_bands(p_c, ex_c, p_t, ex_t, TASK_TIMES)})
        # scaling: the speed-up and the error of this N in one row
        from labkit.nmr_fno.simulate import simulate

        ex_s = float(np.median([measure(simulate, s, TASK_TIMES, "exact", OBS, warmup=1, repeats=cfg.timing_repeats, threads=1).median for s in test[:3]]))
        su_s = float(np.median([measure(sur.predict, [s], check_range=False, warmup=2, repeats=4 * cfg.timing_repeats, threads=1).median for s in test[:3]]))
        scaling.append({"n_spins": n, "exact_block_s": ex_s, "surrogate_b1_s": su_s, "speedup_b1": ex_s / su_s,
                        "surrogate_median_rel_l2": row["surrogate_median"], "surrogate_p90_rel_l2": row["surrogate_p90"]})
        ctx.log.info("N=%d: median rel. L2 %.3f (first order %.3f, mean %.3f); speed-up %.1fx at this error", n, row["surrogate_median"],
                     row["first_order_median"], row["mean_median"], ex_s / su_s)
    res.update(accuracy=acc, conformal=bands, scaling=scaling)
    ctx.write_csv("accuracy", acc)
    ctx.write_csv("conformal", bands)
    ctx.write_csv("scaling", scaling)

    # out-of-range couplings: error and how many are flagged
    import warnings

    ood = []
    for n in cfg.eval_n:
        systems = sets["ood", n]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", OutOfRangeWarning)
            pred = sur.predict(systems)
        err = _rel(np.stack([pred["Mx"], pred["My"]], 1), exact["ood", n])
        ood.append({"n_spins": n, "j_band_hz": list(cfg.ood_j), "median_rel_l2": float(np.median(err)),
                    "flagged_fraction": sum(issubclass(w.category, OutOfRangeWarning) for w in caught) / len(systems)})
    res["ood_j"] = ood
    ctx.write_csv("ood_j", ood)

    # the inverse problem, both routes with the same optimiser, Jacobian and starts
    from labkit.nmr_fno.fid_inverse import inverse_trial, summarise

    with ctx.threads(1):
        trials = [inverse_trial(sur, n, float(snr), k, cfg.inverse_starts, ctx.seed) for n in cfg.inverse_n for snr in cfg.snrs
                  for k in range(cfg.inverse_trials)]
    res["inverse"] = summarise(trials)
    ctx.write_csv("inverse", res["inverse"])

    # invariants of the propagated state for every classical method, and the naive integrator
    from labkit.nmr_fno.conservation import CONSERVATION_METHODS, invariants

    times = TASK_TIMES[1] * np.arange(cfg.conservation_points)
    cons = [{"n_spins": n, "method": m, **invariants(task_system(n, "random", seed=ctx.seed), m, times)}
            for n in cfg.conservation_n for m in CONSERVATION_METHODS]
    res["conservation"] = cons
    ctx.write_csv("conservation", cons)

    from labkit.nmr_fno.spinach import spinach_available

    ok, why = spinach_available()
    res["spinach"] = {"available": ok, "reason": why}

    with torch.no_grad():  # a fixed probe, so a reloaded surrogate can be checked against this run
        probe = sur.predict([task_system(6, "ring", seed=123)], check_range=False)
    res["probe_mx"] = probe["Mx"][0, :16].tolist()
    top = acc[-1]
    euler = next(c for c in cons if c["method"] == "euler")
    classical_worst = max(max(c["trace"], c["purity"], c["hermiticity"]) for c in cons if c["method"] != "euler")
    res["headline"] = {
        "surrogate": provenance["source"], "N": top["n_spins"], "median_rel_l2": round(top["surrogate_median"], 3),
        "p90_rel_l2": round(top["surrogate_p90"], 3), "first_order_median": round(top["first_order_median"], 3),
        "mean_median": round(top["mean_median"], 3), "speedup_b1": round(scaling[-1]["speedup_b1"], 1),
        "coverage95": round(bands[-1]["coverage"], 3), "band_over_signal": round(bands[-1]["half_width_over_signal_rms"], 2),
        "classical_invariant_drift_max": float(f"{classical_worst:.2g}"), "euler_purity_drift": float(f"{euler['purity']:.2g}"),
    }
    return res
