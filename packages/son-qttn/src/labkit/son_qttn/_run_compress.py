"""Body of ``son-qttn:compress``: TT/QTT rate-distortion against truncated SVD."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core import RunContext
from labkit.son_qttn import figures
from labkit.son_qttn._precision import precision_scope
from labkit.son_qttn._run_common import images_of
from labkit.son_qttn.config import CompressConfig

__all__ = ["run_compress"]


def run_compress(ctx: RunContext[CompressConfig]) -> dict[str, Any]:
    """Rate-distortion of TT (plain modes), QTT and truncated SVD, one point per tolerance."""
    from labkit.core import Tracked
    from labkit.son_qttn.qtt import to_qtt_tensor
    from labkit.son_qttn.tt import tt_svd

    cfg = ctx.config
    x = images_of(cfg)
    rows: list[dict[str, Any]] = []
    with precision_scope(cfg.precision):
        norm = float(np.linalg.norm(x))
        tensors = {"tt": x, "qtt": np.asarray(to_qtt_tensor(x))}
        kept = Tracked(lambda: list(rows), lambda saved: rows.__setitem__(slice(None), saved))
        for k in ctx.loop(len(cfg.tolerances), track={"rows": kept}, name="tolerances"):
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
