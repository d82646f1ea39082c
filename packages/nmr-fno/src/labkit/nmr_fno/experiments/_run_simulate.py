"""Body of `nmr-fno:simulate` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

from labkit.core import RunContext
from labkit.nmr_fno.experiments.classical import SimulateConfig


def run_simulate(ctx: RunContext[SimulateConfig]) -> dict[str, Any]:
    """Run `nmr-fno:simulate`; returns the results dict (headline first)."""
    import time

    import matplotlib.pyplot as plt
    import numpy as np

    from labkit.nmr_fno import default_times, random_system, simulate
    from labkit.nmr_fno.exact import fid_transitions

    cfg = ctx.config
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
