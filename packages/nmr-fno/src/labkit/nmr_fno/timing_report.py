"""Ratios, markdown table and figure for scaling timings (rows from `timing.time_methods`).

Example:
    >>> rows = [{"n_spins": 4, "method": "exact", "median_s": 0.01, "measured": True},
    ...         {"n_spins": 4, "method": "dense-expm", "median_s": 1.0, "measured": True}]
    >>> [r["speedup_vs_dense_expm"] for r in add_ratios(rows)]
    [100.0, 1.0]
"""

from __future__ import annotations

from typing import Any

__all__ = ["add_ratios", "markdown_table", "scaling_figure"]


def add_ratios(rows: list[dict[str, Any]], slow: str = "dense-expm", fast: str = "exact") -> list[dict[str, Any]]:
    """Add speedup_vs_dense_expm (reference time / time) and slowdown_vs_exact (time / block-method time)."""
    ref = {r["n_spins"]: r["median_s"] for r in rows if r["method"] == slow}
    blk = {r["n_spins"]: r["median_s"] for r in rows if r["method"] == fast}
    out = []
    for r in rows:
        r = dict(r)
        n = r["n_spins"]
        r["speedup_vs_dense_expm"] = ref[n] / r["median_s"] if n in ref and r["median_s"] else None
        r["slowdown_vs_exact"] = r["median_s"] / blk[n] if blk.get(n) else None
        out.append(r)
    return out


def _fmt(x: float | None, ratio: bool = False) -> str:
    if x is None:
        return "–"
    if ratio:
        return f"{x:.3g}×"
    return f"{x:.3g}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: N, method, median s [IQR], speed-up vs dense-expm, time / exact; '~' marks extrapolations."""
    lines = ["| N | method | s / trajectory (median) | IQR (s) | vs dense-expm | time / exact |",
             "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["n_spins"], r["method"])):
        mark = "" if r.get("measured", True) else "~"
        iqr = _fmt(r.get("iqr_s")) if r.get("measured", True) else "extrapolated"
        lines.append(f"| {r['n_spins']} | {r['method']} | {mark}{_fmt(r['median_s'])} | {iqr} | "
                     f"{mark}{_fmt(r.get('speedup_vs_dense_expm'), True)} | {mark}{_fmt(r.get('slowdown_vs_exact'), True)} |")
    return "\n".join(lines)


def scaling_figure(rows: list[dict[str, Any]]) -> Any:
    """Log-scale seconds per trajectory vs N, one line per method; hollow markers are extrapolations."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, m in enumerate(dict.fromkeys(r["method"] for r in rows)):
        pts = sorted((r for r in rows if r["method"] == m), key=lambda r: r["n_spins"])
        meas = [r for r in pts if r.get("measured", True)]
        extra = [r for r in pts if not r.get("measured", True)]
        ax.semilogy([r["n_spins"] for r in meas], [r["median_s"] for r in meas], "o-", color=f"C{i}", label=m)
        if extra:
            ax.semilogy([r["n_spins"] for r in extra], [r["median_s"] for r in extra], "o--", mfc="none", color=f"C{i}")
    ax.set(xlabel="number of spins N", ylabel="seconds per 300-point FID", title="classical simulators (hollow = extrapolated)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
