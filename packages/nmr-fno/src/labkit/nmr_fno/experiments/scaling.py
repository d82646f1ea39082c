"""`nmr-fno:scaling`, `nmr-fno:conservation`, `nmr-fno:spinach`: surrogate vs every classical method.

Light module: torch and the numerics are imported inside run().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option
from labkit.nmr_fno.methods import methods_with

from .studies import STUDY_QUICK
from .surrogate import SurrogateTrainConfig

_CLASSICAL = methods_with("timed")


@dataclass
class ScalingConfig(SurrogateTrainConfig):
    timing_n: list[int] = option((4, 6, 8, 10, 12), help="spin counts timed (the exact block method is always measured)")
    methods: list[str] = option(_CLASSICAL, help="classical methods timed")
    skip_above_s: float = option(30.0, help="skip a (method, N) predicted to take longer than this in total", min=0.0)
    timing_repeats: int = option(3, help="timed repeats per point", min=1)

    def validate(self) -> None:
        super().validate()
        bad = [m for m in self.methods if m not in _CLASSICAL]
        if bad:
            raise ConfigError("methods", f"unknown methods {bad}; choose from {_CLASSICAL}")
        if "exact" not in self.methods:
            raise ConfigError("methods", "must include 'exact' (the block method every speed-up is measured against)")
        if any(n < 2 or n > 16 for n in self.timing_n):
            raise ConfigError("timing_n", f"each N must lie in [2, 16], got {list(self.timing_n)}")


class Scaling(Experiment):
    name = "scaling"
    summary = "Time and RMSE vs N of every classical method and the surrogate; speed-up vs the fastest classical method."
    config_class = ScalingConfig
    presets = {"quick": {**STUDY_QUICK, "timing_n": [4, 6, 8, 10], "skip_above_s": 5.0},
               "paper": {"n_spins": [4, 6, 8, 10, 12], "train_counts": [20000, 10000, 5000, 2000, 500], "timing_n": [4, 6, 8, 10, 12, 14], "timing_repeats": 5}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import numpy as np
        import torch

        from labkit.core import measure
        from labkit.nmr_fno.experiments.figures import _fig
        from labkit.nmr_fno.fno import FNO1d
        from labkit.nmr_fno.simulate import simulate
        from labkit.nmr_fno.surrogate import encode_systems
        from labkit.nmr_fno.surrogate_pipeline import apply_threads, evaluate_per_n, fit_surrogate, held_out_data
        from labkit.nmr_fno.systems import random_system
        from labkit.nmr_fno.timing import extrapolate

        cfg: ScalingConfig = ctx.config
        apply_threads(cfg)
        sur, _, _ = fit_surrogate(ctx, cfg)
        acc = {r["n_spins"]: r["rmse"] for r in evaluate_per_n(sur, held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, cfg.topology), cfg.mc_passes)}
        times = sur.spec.times()
        # inference cost does not depend on the weights: time an architecture sized for the largest timed N
        n_big = max(max(cfg.timing_n), sur.spec.n_max)
        timing_model = FNO1d(type(sur.model.config)(**{**sur.model.architecture(), "n_max": n_big})).eval()
        rows: list[dict] = []
        history: dict[str, list] = {m: [] for m in cfg.methods}
        for n in ctx.progress(sorted(cfg.timing_n), desc="N"):
            system = random_system(n, cfg.topology, seed=ctx.seed)
            ref = simulate(system, times, "exact")
            for m in cfg.methods:
                pred = extrapolate(history[m], n)
                # the block method is the reference of every speed-up: always measured, never extrapolated
                if m != "exact" and pred is not None and pred * (cfg.timing_repeats + 1) > cfg.skip_above_s:
                    rows.append({"n_spins": n, "method": m, "seconds": pred, "measured": False, "rmse": None})
                    continue
                out = simulate(system, times, m)
                sec = measure(simulate, system, times, m, warmup=0, repeats=cfg.timing_repeats, threads=1).median
                history[m].append((n, sec))
                err = float(np.sqrt(np.mean([(out[c] - ref[c]) ** 2 for c in ("Mx", "My", "I1z")])))
                rows.append({"n_spins": n, "method": m, "seconds": sec, "measured": True, "rmse": err})
            x = torch.from_numpy(encode_systems([system], n_big))
            with torch.no_grad():
                sec = measure(timing_model, x, warmup=2, repeats=10, threads=1).median
            rows.append({"n_spins": n, "method": "surrogate", "seconds": sec, "measured": True, "rmse": acc.get(n)})
        for n in sorted(cfg.timing_n):
            fastest = min((r for r in rows if r["n_spins"] == n and r["method"] != "surrogate" and r["measured"]), key=lambda r: r["seconds"])
            for r in rows:
                if r["n_spins"] == n:
                    r["fastest_classical"] = fastest["method"]
                    # a speed-up is reported only beside its error: none for the surrogate at an untrained N
                    known = r["method"] != "surrogate" or r["rmse"] is not None
                    r["speedup_vs_fastest"] = fastest["seconds"] / r["seconds"] if known else None
        ctx.write_csv("scaling", rows)
        fig, ax = _fig()
        for m in (*cfg.methods, "surrogate"):
            pts = [(r["n_spins"], r["seconds"]) for r in rows if r["method"] == m and r["measured"]]
            if pts:
                ax[0, 0].semilogy([p[0] for p in pts], [p[1] for p in pts], "o-", label=m)
        ax[0, 0].set_xlabel("N spins")
        ax[0, 0].set_ylabel("seconds per trajectory (1 thread)")
        ax[0, 0].legend(fontsize=7)
        ctx.save_figure(fig, "scaling")
        top = max(n for n in cfg.timing_n if n in acc) if any(n in acc for n in cfg.timing_n) else None
        if top is None:
            raise ConfigError("timing_n", f"needs at least one trained N {list(cfg.n_spins)}: a speed-up is reported only with its error")
        s_row = next(r for r in rows if r["n_spins"] == top and r["method"] == "surrogate")
        fastest_s = next(r["seconds"] for r in rows if r["n_spins"] == top and r["method"] == s_row["fastest_classical"])
        head = {"N": top, "fastest_classical": s_row["fastest_classical"], "fastest_classical_s": float(f"{fastest_s:.3g}"),
                "surrogate_s": float(f"{s_row['seconds']:.3g}"), "speedup_vs_fastest": round(s_row["speedup_vs_fastest"], 2),
                "surrogate_rmse": round(s_row["rmse"], 4)}
        return {"headline": head, "rows": rows, "surrogate_rmse_trained_n": acc}


@dataclass
class ConservationConfig(SurrogateTrainConfig):
    long_n: list[int] = option((4, 6), help="spin counts of the long trajectories")
    long_points: int = option(3000, help="points of the long trajectory (same dt as the surrogate window)", min=10)


class Conservation(Experiment):
    name = "conservation"
    summary = "Exact identities (M(0), |M| <= 1, |I1z| <= 1) over long trajectories for each simulator and for the surrogate."
    config_class = ConservationConfig
    presets = {"quick": {**STUDY_QUICK, "epochs": 4, "long_points": 3000}, "paper": {"long_n": [4, 6, 8, 10], "long_points": 30000}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import numpy as np
        import torch

        from labkit.nmr_fno.experiments.figures import bars_figure
        from labkit.nmr_fno.physics_loss import physics_penalties
        from labkit.nmr_fno.simulate import simulate
        from labkit.nmr_fno.surrogate_pipeline import apply_threads, fit_surrogate, held_out_data
        from labkit.nmr_fno.systems import random_system

        cfg: ConservationConfig = ctx.config
        apply_threads(cfg)
        dt = cfg.t_max / cfg.n_t
        times = np.arange(cfg.long_points) * dt
        rows: list[dict[str, Any]] = []
        for n in cfg.long_n:
            system = random_system(n, cfg.topology, seed=ctx.seed)
            ref = simulate(system, times, "exact")
            for m in ("exact", "krylov", "chebyshev"):
                out = simulate(system, times, m)
                y = torch.tensor(np.stack([out["Mx"], out["My"], out["I1z"]]))[None]
                pen = physics_penalties(y)
                drift = np.abs(np.stack([out[c] - ref[c] for c in ("Mx", "My", "I1z")]))
                rows.append({"source": m, "n_spins": n, "t_end_s": float(times[-1]), "initial": float(pen["initial"]),
                             "max_norm_excess": float(max(0.0, (np.hypot(out["Mx"], out["My"]) - 1).max())),
                             "max_abs_I1z_excess": float(max(0.0, (np.abs(out["I1z"]) - 1).max())),
                             "max_dev_from_exact_last_10pct": float(drift[:, -len(times) // 10 :].max())})
        sur, _, _ = fit_surrogate(ctx, cfg)
        data = held_out_data(sur.spec, cfg.n_spins, cfg.test_per_n, ctx.seed, cfg.topology)
        pred = torch.tensor(sur.predict(data.systems, check_range=False))
        pen = physics_penalties(pred)
        norm = torch.hypot(pred[:, 0], pred[:, 1])
        rows.append({"source": "surrogate", "n_spins": max(cfg.n_spins), "t_end_s": float(sur.spec.times()[-1]), "initial": float(pen["initial"]),
                     "max_norm_excess": float(torch.clamp(norm - 1, min=0).max()),
                     "max_abs_I1z_excess": float(torch.clamp(pred[:, 2].abs() - 1, min=0).max()),
                     "fraction_points_norm_violated": float((norm > 1).float().mean())})
        ctx.write_csv("conservation", rows)
        ctx.save_figure(bars_figure([{**r, "label": f"{r['source']} N={r['n_spins']}", "v": max(r["max_norm_excess"], 1e-17)} for r in rows],
                                    "label", "v", "max(|M| - 1, 0)"), "conservation")
        worst_classical = max(r["max_norm_excess"] for r in rows if r["source"] != "surrogate")
        return {"headline": {"norm_excess_classical_max": float(f"{worst_classical:.3g}"), "norm_excess_surrogate": float(f"{rows[-1]['max_norm_excess']:.3g}"),
                             "surrogate_points_violating": round(rows[-1]["fraction_points_norm_violated"], 4)}, "rows": rows}


@dataclass
class SpinachConfig:
    n_t: int = option(300, help="time points", min=2)
    t_max: float = option(0.1, help="window in seconds", min=0.0, min_inclusive=False)


class SpinachValidation(Experiment):
    name = "spinach"
    summary = "Compare the exact simulator with MATLAB Spinach on nmrsim's published AB and ABC systems (reports unavailable without MATLAB)."
    config_class = SpinachConfig
    presets = {"quick": {}, "paper": {"n_t": 2000}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import numpy as np

        from labkit.nmr_fno.experiments.figures import _fig
        from labkit.nmr_fno.simulate import simulate
        from labkit.nmr_fno.spinach import spinach_available
        from labkit.nmr_fno.systems import SpinSystem

        cfg: SpinachConfig = ctx.config
        ok, why = spinach_available()
        systems = {"AB": SpinSystem([10.0, 20.0], [[0, 10.0], [10.0, 0]]),
                   "ABC-rioux": SpinSystem([430.0, 265.0, 300.0], [[0, 7.0, 15.0], [7.0, 0, 1.5], [15.0, 1.5, 0]])}
        fig, ax = _fig()
        if not ok:
            ctx.log.warning("%s", why)
            ax[0, 0].text(0.5, 0.5, f"Spinach unavailable:\n{why}", ha="center", va="center", wrap=True, fontsize=8)
            ax[0, 0].axis("off")
            ctx.save_figure(fig, "spinach")
            rows: list[dict[str, Any]] = [{"system": k, "available": False, "reason": why} for k in systems]
            ctx.write_csv("spinach", rows)
            return {"headline": {"spinach": "unavailable"}, "available": False, "reason": why}
        times = np.arange(cfg.n_t) * (cfg.t_max / cfg.n_t)  # pragma: no cover - needs MATLAB + Spinach
        rows = []  # pragma: no cover
        for k, s in systems.items():  # pragma: no cover
            a, b = simulate(s, times, "exact"), simulate(s, times, "spinach")
            rows.append({"system": k, "available": True, "max_abs_diff": float(max(np.abs(a[c] - b[c]).max() for c in ("Mx", "My")))})
            ax[0, 0].plot(times, a["Mx"] - b["Mx"], label=k)
        ctx.save_figure(fig, "spinach")  # pragma: no cover
        ctx.write_csv("spinach", rows)  # pragma: no cover
        return {"headline": {"max_abs_diff": max(r["max_abs_diff"] for r in rows)}, "available": True, "rows": rows}  # pragma: no cover
