"""Body of `nmr-fno:surrogate` (imported only when the experiment runs: numpy, torch, the simulators)."""

from __future__ import annotations

import time
from typing import Any

from labkit.core import RunContext
from labkit.nmr_fno.experiments.surrogate import SurrogateConfig


def _sizes(cfg: SurrogateConfig, kind: str) -> dict[str, int]:
    if kind == "lines":
        return {"hidden": cfg.lines_hidden, "head_width": cfg.lines_head_width, "slots": cfg.lines_slots}
    return {"modes": cfg.fno_modes, "width": cfg.fno_width, "n_layers": cfg.fno_layers}


def _timed_data(ctx: RunContext[SurrogateConfig], counts: dict[int, int], seed: int) -> tuple[Any, float]:
    """Simulated data (sharded over the ranks) and the wall seconds it took on this rank."""
    from labkit.nmr_fno.fid_training import make_fid_data

    t0 = time.perf_counter()
    data = make_fid_data(counts, seed, ctx.local_device, chunk=ctx.config.sim_chunk, ctx=ctx)
    return data, time.perf_counter() - t0


def _digest(*sets: Any) -> str:
    """sha256 of every array of the data sets (equal for any world size: the sharding is exact)."""
    import hashlib

    h = hashlib.sha256()
    for data in sets:
        for part in (data.vectors, data.mx, data.my, data.i1z):
            for n in sorted(part):
                h.update(part[n].tobytes())
    return h.hexdigest()


def run_surrogate(ctx: RunContext[SurrogateConfig]) -> dict[str, Any]:
    """Run `nmr-fno:surrogate`; returns the results dict (headline first). Ranks > 0 return {} after training."""
    import torch

    from labkit.core.distributed import barrier
    from labkit.nmr_fno.experiments.figures import accuracy_figure, fid_training_figure
    from labkit.nmr_fno.fid_study import (
        add_accuracy,
        baseline_rows,
        conformal_bands,
        exact_broadened,
        predict_broadened,
        timing_row,
    )
    from labkit.nmr_fno.fid_surrogate import ARTIFACT_NAME, FIDSpec, FIDSurrogate
    from labkit.nmr_fno.fid_training import FIDTrainSettings, train_fid
    from labkit.nmr_fno.task import TASK_TIMES, task_system

    cfg = ctx.config
    device = ctx.local_device
    with ctx.threads(cfg.torch_threads):  # restores the previous setting on exit
        counts = dict(zip(cfg.n_spins, cfg.train_counts, strict=True))
        barrier()  # every rank has started: the data timing excludes process start-up
        train, t_train = _timed_data(ctx, counts, ctx.seed)
        calib, t_calib = _timed_data(ctx, dict.fromkeys(cfg.eval_n, cfg.calib_per_n), ctx.seed + 1)
        test, t_test = _timed_data(ctx, dict.fromkeys(cfg.eval_n, cfg.test_per_n), ctx.seed + 2)
        data_info = {"train_systems": train.count(), "train_seconds": t_train, "calib_seconds": t_calib, "test_seconds": t_test,
                     "world_size": ctx.world_size, "device": device,
                     "sha256": _digest(train, calib, test)}
        ctx.log.info("data: %d training systems in %.1f s on %d process(es)", train.count(), t_train, ctx.world_size)
        spec = FIDSpec(n_spins=sorted(counts))
        settings = FIDTrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                    seed=ctx.seed, accumulate=cfg.accumulate, checkpoint_every=cfg.checkpoint_every)
        trained: dict[str, Any] = {}
        histories: dict[str, list[dict]] = {}
        training: dict[str, dict] = {}
        for kind in cfg.kinds:
            torch.manual_seed(ctx.seed)  # the same initial weights on every rank
            sur = FIDSurrogate.build(kind, spec, **_sizes(cfg, kind))
            sur.model.to(device)
            barrier()
            t0 = time.perf_counter()
            hist = train_fid(sur, train, settings, loop=ctx.loop, log=ctx.log.info, optimizer=ctx.resolve("optimizer", cfg.optimizer),
                             name=f"train-{kind}", ctx=ctx)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            loop_s = time.perf_counter() - t0
            sur.model.to("cpu")
            trained[kind], histories[kind] = sur, hist
            # loop_seconds: the whole train_fid call (setup, checkpoints); epoch_seconds: the epochs alone
            training[kind] = {"loop_seconds": loop_s, "epoch_seconds": sum(h["seconds"] for h in hist),
                              "seconds_after_first_epoch": sum(h["seconds"] for h in hist[1:]),
                              "final_train_loss": hist[-1]["train_loss"] if hist else None,
                              "parameters": sum(p.numel() for p in sur.model.parameters())}
        if not ctx.is_main:
            return {}
        rows = baseline_rows(train, test, cfg.eval_n)
        for kind, sur in trained.items():
            add_accuracy(rows, kind, sur, test)
        first = cfg.kinds[0]
        primary = trained[first]
        bands = [{"n_spins": n, "calibration_systems": cfg.calib_per_n, "test_systems": cfg.test_per_n,
                  **conformal_bands(predict_broadened(primary, calib, n), exact_broadened(calib, n),
                                    predict_broadened(primary, test, n), exact_broadened(test, n), TASK_TIMES)}
                 for n in cfg.eval_n]
        timing = timing_row(primary, ctx.device, cfg.timing_repeats, cfg.timing_n) if cfg.timing else None
        for kind, sur in trained.items():
            sur.save_artifact(ctx, ARTIFACT_NAME if kind == first else f"{ARTIFACT_NAME}-{kind}")
        history = [{"epoch": h["epoch"], "train_loss": h["train_loss"], "seconds": h["seconds"],
                    **{f"train_loss_{k}": histories[k][i]["train_loss"] for k in cfg.kinds[1:] if i < len(histories[k])}}
                   for i, h in enumerate(histories[first])]
        ctx.write_csv("history", history)
        ctx.write_csv("accuracy", rows)
        ctx.write_csv("conformal", bands)
        ctx.save_figure(fid_training_figure(histories), "training")
        ctx.save_figure(accuracy_figure(rows, list(cfg.kinds)), "accuracy")
    top, band = rows[-1], bands[-1]
    headline: dict[str, Any] = {"N": top["n_spins"]}
    for kind in cfg.kinds:
        headline[f"{kind}_median_rel_l2"] = round(top[f"{kind}_median"], 3)
        headline[f"{kind}_p90_rel_l2"] = round(top[f"{kind}_p90"], 3)
    headline.update(first_order_median=round(top["first_order_median"], 3), mean_trajectory_median=round(top["mean_median"], 3),
                    **{f"{first}_over_best_baseline": round(top[f"{first}_ratio_to_best_baseline"], 3)},
                    coverage_95=round(band["coverage"], 3), band_over_signal_rms=round(band["half_width_over_signal_rms"], 3))
    if timing is not None:
        headline[f"speedup_cpu1_b1_N{timing['n_spins']}"] = round(timing["speedup_cpu1_b1"], 1)
    probe = primary.predict([task_system(max(cfg.n_spins), "ring", seed=123)], check_range=False)["Mx"][0, :16].tolist()
    return {"headline": headline, "accuracy": rows, "conformal": bands, "timing": timing, "training": training, "data": data_info,
            "artifact": ARTIFACT_NAME, "probe_mx": probe,
            "note": "relative L2 of the 1 Hz-broadened Mx + iMy over the 512-point, 1 s grid, per held-out system; "
                    "baselines: first-order formula, mean training trajectory at that N"}
