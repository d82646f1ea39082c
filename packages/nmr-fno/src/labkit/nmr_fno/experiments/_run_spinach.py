"""Body of `nmr-fno:spinach` (imported only when the experiment runs)."""

from __future__ import annotations

from typing import Any

from labkit.core import RunContext
from labkit.nmr_fno.experiments.scaling import SpinachConfig


def run_spinach(ctx: RunContext[SpinachConfig]) -> dict[str, Any]:
    """Run `nmr-fno:spinach`; returns the results dict (headline first)."""
    import numpy as np

    from labkit.nmr_fno.experiments.figures import _fig
    from labkit.nmr_fno.simulate import simulate
    from labkit.nmr_fno.spinach import spinach_available
    from labkit.nmr_fno.systems import SpinSystem

    cfg = ctx.config
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
