"""Classical-simulator experiments: `nmr-fno:simulate` (one system) and `nmr-fno:scaling-classical` (timing).

Light module: numpy/matplotlib/simulators are imported inside run(), never torch at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option
from labkit.nmr_fno.methods import METHOD_TABLE, methods_with

_TOPOLOGIES = ("chain", "ring", "star", "random")
_METHODS = tuple(METHOD_TABLE)
_SWEEPABLE = tuple(m for m, info in METHOD_TABLE.items() if "optional" not in info.flags)


@dataclass
class SimulateConfig:
    n_spins: int = option(6, help="number of coupled spin-1/2 nuclei", min=1, max=20)
    topology: str = option("chain", help="coupling graph of the random system", choices=_TOPOLOGIES)
    system_seed: int = option(0, help="seed of the random offsets and couplings", min=0)
    method: str = option("exact", help="simulation method", choices=_METHODS)
    n_times: int = option(300, help="number of time points", min=2)
    dt: float = option(1.0e-3, help="time step in seconds (complex FID band = +-1/(2 dt) Hz)", min=0.0, min_inclusive=False)
    reference_max_spins: int = option(8, help="also run the dense-expm reference and report the error up to this N", min=0, max=12)


class Simulate(Experiment):
    name = "simulate"
    summary = "Simulate one random spin system: FID (Mx, My), I1z and the spectrum, checked against brute force."
    config_class = SimulateConfig
    presets = {"quick": {"n_spins": 6}, "paper": {"n_spins": 12, "reference_max_spins": 8}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import time

        import matplotlib.pyplot as plt
        import numpy as np

        from labkit.nmr_fno import default_times, random_system, simulate
        from labkit.nmr_fno.exact import fid_transitions

        cfg: SimulateConfig = ctx.config
        system = random_system(cfg.n_spins, cfg.topology, seed=cfg.system_seed)
        times = default_times(cfg.n_times, cfg.dt)
        t0 = time.perf_counter()
        opts: dict[str, Any] = {"device": ctx.device} if cfg.method == "torch" else {}
        out = simulate(system, times, cfg.method, **opts)
        elapsed = time.perf_counter() - t0
        headline: dict[str, Any] = {"n_spins": cfg.n_spins, "method": cfg.method, "seconds": round(elapsed, 4)}
        if cfg.n_spins <= cfg.reference_max_spins:
            t1 = time.perf_counter()
            ref = simulate(system, times, "dense-expm")
            headline["seconds_dense_expm_reference"] = round(time.perf_counter() - t1, 4)
            headline["max_abs_error_vs_dense_expm"] = float(max(np.abs(out[k] - ref[k]).max() for k in ("Mx", "My", "I1z")))
        fid = out["Mx"] + 1j * out["My"]
        fid[0] *= 0.5  # the t = 0 sample counts half in a discrete FT (no baseline offset)
        nfft = 4 * fid.size
        spec = np.fft.fftshift(np.fft.fft(fid * np.hanning(2 * fid.size)[fid.size:], nfft))
        freq = np.fft.fftshift(np.fft.fftfreq(nfft, cfg.dt))
        lines_f, lines_a = fid_transitions(system) if cfg.n_spins <= 12 else (np.zeros(0), np.zeros(0))

        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        axes[0].plot(times * 1e3, out["Mx"], label="Mx")
        axes[0].plot(times * 1e3, out["My"], label="My", alpha=0.8)
        axes[0].plot(times * 1e3, out["I1z"], label="I1z (rho0 = I1z)", alpha=0.8)
        axes[0].set(xlabel="t (ms)", ylabel="signal", title=f"N={cfg.n_spins} {cfg.topology}, method={cfg.method}")
        axes[0].legend(fontsize=8)
        axes[1].plot(freq, spec.real / np.abs(spec.real).max(), lw=1, label="FFT of FID (half-Hann)")
        if lines_f.size:
            keep = lines_a > 1e-4 * lines_a.max()
            axes[1].vlines(lines_f[keep], 0, -lines_a[keep] / lines_a.max() * 0.5, color="C3", lw=0.8, label="transitions")
        axes[1].set(xlabel="frequency (Hz)", ylabel="intensity", title="spectrum")
        axes[1].set_xlim(system.offsets_hz.min() - 60, system.offsets_hz.max() + 60)
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        ctx.save_figure(fig, "fid_spectrum")
        ctx.write_csv("trajectory", [{"t": float(t), "Mx": float(a), "My": float(b), "I1z": float(c)}
                                     for t, a, b, c in zip(times, out["Mx"], out["My"], out["I1z"], strict=True)])
        return {"headline": headline, "system": {"offsets_hz": system.offsets_hz.tolist(),
                                                 "couplings_hz": system.couplings_hz.tolist()}}


@dataclass
class ScalingConfig:
    n_values: list[int] = option((4, 6, 8, 10, 12), help="spin counts to time")
    methods: list[str] = option(methods_with("timed"), help="methods to time")
    repeats: int = option(5, help="timed repeats per point", min=1)
    warmup: int = option(1, help="untimed warm-up calls per point", min=0)
    threads: int = option(1, help="BLAS/torch threads pinned during timing", min=1)
    skip_above_s: float = option(120.0, help="skip a point whose extrapolated total time exceeds this", min=0.0)
    topology: str = option("random", help="topology of the timed systems", choices=_TOPOLOGIES)

    def validate(self) -> None:
        bad = [m for m in self.methods if m not in _SWEEPABLE]
        if bad or not self.methods:
            raise ConfigError("methods", f"allowed: {list(_SWEEPABLE)}, got {self.methods}")
        if not self.n_values or any(n < 1 or n > 20 for n in self.n_values):
            raise ConfigError("n_values", f"spin counts must lie in [1, 20], got {self.n_values}")


class ScalingClassical(Experiment):
    name = "scaling-classical"
    summary = "Seconds per 300-point FID vs N for every classical method (median + IQR), with ratios."
    config_class = ScalingConfig
    presets = {
        "quick": {"n_values": [4, 6, 8], "repeats": 3, "skip_above_s": 10.0},
        "paper": {"n_values": [4, 6, 8, 10, 12, 14], "repeats": 5, "skip_above_s": 600.0},
    }

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from labkit.nmr_fno.timing import time_or_skip
        from labkit.nmr_fno.timing_report import add_ratios, scaling_figure

        cfg: ScalingConfig = ctx.config
        points = [(n, m) for n in cfg.n_values for m in cfg.methods]
        rows: list[dict[str, Any]] = []

        def restore(state: dict[str, Any]) -> None:
            rows[:] = state["rows"]

        loop = ctx.loop(len(points), state=lambda: {"rows": rows}, restore=restore, name="points", desc="timing points")
        for i in loop:
            n, m = points[i]
            history = [(r["n_spins"], r["median_s"]) for r in rows if r["method"] == m and r["measured"]]
            row = time_or_skip(n, m, history, cfg.skip_above_s, repeats=cfg.repeats, warmup=cfg.warmup,
                               threads=cfg.threads, topology=cfg.topology, device=ctx.device, seed=ctx.seed)
            ctx.log.info("N=%d %-10s %.4g s%s", n, m, row["median_s"], "" if row["measured"] else " (extrapolated)")
            rows.append(row)
        table = add_ratios(rows)
        ctx.write_csv("timing", table)
        ctx.save_figure(scaling_figure(table), "scaling")
        nmax = max(r["n_spins"] for r in table if r["method"] == "exact" and r["measured"]) if any(
            r["method"] == "exact" and r["measured"] for r in table) else None
        headline: dict[str, Any] = {}
        for r in table:
            if nmax is not None and r["n_spins"] == nmax:
                headline[f"{r['method']}_N{nmax}_s"] = r["median_s"]
        return {"headline": headline, "timing": table}
