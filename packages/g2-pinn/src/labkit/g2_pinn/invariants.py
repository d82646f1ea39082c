"""Gauge-invariant errors of a metric on the Bryant–Salamon shell: curvature along r and volume.

The metric's components in the chart change under diffeomorphisms; these numbers do not.

- ``orbit_volume``: the volume of the slice {r} x S^3 x S^3 in the metric, by Monte Carlo over Haar points
  of the slice (exact for a metric that is invariant along the slice).
- ``kretschmann_error``: |Rm|^2 at each point against the exact |Rm|^2 on the Bryant–Salamon orbit **of the
  same volume** (the exact orbit volume grows monotonically in r, so it is inverted by bisection). |Rm|^2
  is a scalar and the orbit volume is a property of the hypersurface, so the pairing is unchanged by any
  diffeomorphism that maps slices to slices: radial reparametrisations r -> rho(r), and r-dependent maps of
  S^3 x S^3 such as (r, q1, q2) -> (r, a(r) q1, q2). It does not use the chart's radius at all.
- ``shell_volume``: the total volume of the shell, invariant under every diffeomorphism of the shell.

Volumes are given in units of the coframe's own volume of S^3 x S^3 (Euler forms: (16 pi^2)^2).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from labkit.g2_pinn.bryant_salamon import EULER, bs_metric, exact_metric_field
from labkit.g2_pinn.charts import maurer_cartan
from labkit.g2_pinn.curvature import curvature

__all__ = ["exact_orbit_volume", "gauge_invariant_errors", "kretschmann_error", "orbit_volume", "radius_of_volume",
           "shell_volume"]

MetricField = Callable[[torch.Tensor], torch.Tensor]


def _logdet(g: torch.Tensor) -> torch.Tensor:
    return 2 * torch.log(torch.diagonal(torch.linalg.cholesky(g), dim1=-2, dim2=-1)).sum(-1)


def _density(metric: MetricField, x: torch.Tensor, block: slice) -> torch.Tensor:
    """sqrt det of the metric's block (the whole metric, or the slice's), per unit of the coframe's volume form."""
    logdet_coframe = (torch.linalg.slogdet(maurer_cartan(x[..., 1:4]))[1]
                      + torch.linalg.slogdet(maurer_cartan(x[..., 4:7]))[1] + 6 * np.log(EULER))
    return torch.exp(0.5 * _logdet(metric(x)[..., block, block]) - logdet_coframe)


def orbit_volume(metric: MetricField, r: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Volume (R,) of each slice {r_i} x S^3 x S^3 from Haar points ``angles`` (M, 6) of the slice.

    Example:
        >>> from labkit.g2_pinn.bryant_salamon import exact_metric_field
        >>> from labkit.g2_pinn.shell_net import sample_slice
        >>> ang = sample_slice(8, 0.0, torch.Generator().manual_seed(0))[:, 1:]
        >>> r = torch.tensor([1.5], dtype=torch.float64)
        >>> bool(torch.allclose(orbit_volume(exact_metric_field(1.0), r, ang), exact_orbit_volume(r, 1.0)))
        True
    """
    x = torch.cat([r[:, None, None].expand(-1, len(angles), 1), angles.expand(len(r), -1, -1)], dim=-1)
    with torch.no_grad():
        return _density(metric, x, slice(1, None)).mean(-1)


def exact_orbit_volume(r: torch.Tensor, a: float) -> torch.Tensor:
    """The Bryant–Salamon orbit volume at radius r: sqrt det of its angular block, (r/3)^3 f^(3/2) (r/(2 sqrt 3))^3."""
    return torch.exp(0.5 * _logdet(bs_metric(r, a)[..., 1:, 1:]))


def radius_of_volume(volume: torch.Tensor, a: float, iterations: int = 200) -> torch.Tensor:
    """The Bryant–Salamon radius whose orbit has this volume (bisection; the volume grows with r > a).

    Example:
        >>> r = torch.tensor([1.3, 2.1], dtype=torch.float64)
        >>> bool(torch.allclose(radius_of_volume(exact_orbit_volume(r, 1.0), 1.0), r, atol=1e-12))
        True
    """
    lo = torch.full_like(volume, a * (1 + 1e-12))
    hi = torch.full_like(volume, 2 * a)
    while bool((exact_orbit_volume(hi, a) < volume).any()):
        hi = 2 * hi
    for _ in range(iterations):
        mid = (lo + hi) / 2
        below = exact_orbit_volume(mid, a) < volume
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return (lo + hi) / 2


def kretschmann_error(metric: MetricField, x: torch.Tensor, angles: torch.Tensor, a: float,
                      chunk: int = 8) -> dict[str, torch.Tensor]:
    """|Rm|^2 of ``metric`` at points x (N, 7) against the exact |Rm|^2 on the orbit of the same volume.

    Returns the relative error (N,), both |Rm|^2 (N,), the matched exact radius (N,) and Ricci^2 (N,).
    ``metric`` maps chart points (..., 7) to chart metrics (..., 7, 7) (torch.func-traceable).
    """
    r_match = radius_of_volume(orbit_volume(metric, x[:, 0], angles), a)
    learned = curvature(metric, x, chunk=chunk)
    exact = curvature(exact_metric_field(a), torch.cat([r_match[:, None], x[:, 1:]], dim=1), chunk=chunk)
    K, K_ex = learned["kretschmann"], exact["kretschmann"]
    return {"rel_error": (K - K_ex).abs() / K_ex, "kretschmann": K, "kretschmann_exact": K_ex, "r_match": r_match,
            "ricci_sq": learned["ricci_sq"]}


def shell_volume(metric: MetricField, r1: float, r2: float, angles: torch.Tensor, nodes: int = 24) -> float:
    """The volume of the shell [r1, r2] x S^3 x S^3: Gauss-Legendre in r, Haar points ``angles`` on each slice.

    Example:
        >>> from labkit.g2_pinn.bryant_salamon import exact_metric_field
        >>> from labkit.g2_pinn.shell_net import sample_slice
        >>> ang = sample_slice(4, 0.0, torch.Generator().manual_seed(0))[:, 1:]
        >>> v = shell_volume(exact_metric_field(1.0), 1.25, 2.25, ang)
        >>> F = lambda r: (r ** 7 / 7 - r ** 4 / 4) / (648 * 3 ** 0.5)  # sqrt det g = (r^6 - a^3 r^3) / (648 sqrt 3)
        >>> abs(v / (F(2.25) - F(1.25)) - 1) < 1e-12
        True
    """
    t, w = np.polynomial.legendre.leggauss(nodes)
    r = torch.as_tensor((r1 + r2) / 2 + (r2 - r1) / 2 * t, dtype=angles.dtype, device=angles.device)
    x = torch.cat([r[:, None, None].expand(-1, len(angles), 1), angles.expand(len(r), -1, -1)], dim=-1)
    with torch.no_grad():
        density = _density(metric, x, slice(None))
    return float((torch.as_tensor((r2 - r1) / 2 * w, dtype=r.dtype, device=r.device) * density.mean(-1)).sum())


def gauge_invariant_errors(metric: MetricField, x: torch.Tensor, angles: torch.Tensor, a: float, r1: float,
                           r2: float, chunk: int = 8, detail: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """RMS / max relative |Rm|^2 error paired by orbit volume, and the relative error of the shell volume.

    ``detail``, if given, receives the pointwise arrays of ``kretschmann_error``.

    Example:
        >>> from labkit.g2_pinn.bryant_salamon import exact_metric_field
        >>> from labkit.g2_pinn.shell_net import sample_slice
        >>> gen = torch.Generator().manual_seed(0)
        >>> x, ang = sample_slice(2, 1.7, gen), sample_slice(4, 0.0, gen)[:, 1:]
        >>> e = gauge_invariant_errors(exact_metric_field(1.0), x, ang, 1.0, 1.25, 2.25)
        >>> e["kretschmann_rel_error_rms"] < 1e-10 and abs(e["shell_volume_rel_error"]) < 1e-12
        True
    """
    k = kretschmann_error(metric, x, angles, a, chunk)
    if detail is not None:
        detail.update(k)
    vol = shell_volume(metric, r1, r2, angles)
    vol_ex = shell_volume(exact_metric_field(a), r1, r2, angles)
    return {"kretschmann_rel_error_rms": float(k["rel_error"].pow(2).mean().sqrt()),
            "kretschmann_rel_error_max": float(k["rel_error"].max()),
            "shell_volume": vol, "shell_volume_exact": vol_ex, "shell_volume_rel_error": vol / vol_ex - 1,
            "ricci_rms": float(k["ricci_sq"].clamp_min(0).mean().sqrt()),
            "riem_rms": float(k["kretschmann"].clamp_min(0).mean().sqrt())}
