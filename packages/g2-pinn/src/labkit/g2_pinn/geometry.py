"""Geometry: quaternions, uniform S^3 sampling, the neck S^1 x S^3 x S^3, reference and Eguchi-Hanson metrics.

The round neck S^1 x S^3(r1) x S^3(r2) (default radii (33, 28)) is sampled here as a point cloud in
R^2 x R^4 x R^4, with 7 effective coordinates (theta and the Hopf angles (eta, xi1, xi2) of each
S^3) for closed-form checks. ``reference_scales`` / ``flat_reference_metric`` give the flat model
c diag(1, rho^2 I3, I3), rho = r1/r2, det = 65/32. The charts the PINN trains on (the round
exponential chart and the flat box) live in ``labkit.g2_pinn.charts``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from labkit.g2_pinn.constants import CONSTANTS

__all__ = [
    "eguchi_hanson_metric",
    "flat_reference_metric",
    "neck_coordinates",
    "quat_mul",
    "reference_scales",
    "round_neck_metric",
    "s3_geodesic_distance",
    "sample_neck",
    "sample_s3",
]


def quat_mul(p: np.ndarray | torch.Tensor, q: np.ndarray | torch.Tensor):
    """Hamilton product of quaternions (..., 4) stored as (w, x, y, z).

    Example:
        >>> quat_mul(np.array([0., 1, 0, 0]), np.array([0., 0, 1, 0]))   # i j = k
        array([0., 0., 0., 1.])
    """
    w1, x1, y1, z1 = (p[..., k] for k in range(4))
    w2, x2, y2, z2 = (q[..., k] for k in range(4))
    parts = (w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
             w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2)
    if isinstance(p, torch.Tensor):
        return torch.stack(list(parts), dim=-1)  # type: ignore[arg-type]
    return np.stack(parts, axis=-1)


def s3_geodesic_distance(q1: np.ndarray | torch.Tensor, q2: np.ndarray | torch.Tensor, radius: float = 1.0):
    """Great-circle distance r arccos<q1, q2> between points (..., 4) of the 3-sphere of radius r.

    The points are normalised first. The value is computed as 2 r atan2(|q1 - q2|, |q1 + q2|), which
    equals r arccos of the clamped inner product but keeps full relative precision near 0 and pi, where
    arccos loses half the digits. The unit quaternions are S^3 itself, not SO(3): q and -q are pi r apart.

    Example:
        >>> s3_geodesic_distance(np.array([1., 0, 0, 0]), np.array([0., 1, 0, 0]), radius=2.0)   # pi/2 * 2
        3.141592653589793
    """
    if radius <= 0:
        raise ValueError(f"radius must be > 0, got {radius}")
    if isinstance(q1, torch.Tensor) or isinstance(q2, torch.Tensor):
        a, b = torch.as_tensor(q1), torch.as_tensor(q2)
        a = a / torch.linalg.vector_norm(a, dim=-1, keepdim=True)
        b = b / torch.linalg.vector_norm(b, dim=-1, keepdim=True)
        return 2 * radius * torch.atan2(torch.linalg.vector_norm(a - b, dim=-1), torch.linalg.vector_norm(a + b, dim=-1))
    a, b = np.asarray(q1, dtype=np.float64), np.asarray(q2, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    out = 2 * radius * np.arctan2(np.linalg.norm(a - b, axis=-1), np.linalg.norm(a + b, axis=-1))
    return float(out) if out.ndim == 0 else out


def sample_s3(n: int, rng: np.random.Generator, radius: float = 1.0) -> np.ndarray:
    """n points uniform (Haar) on the 3-sphere of the given radius in R^4 (normalised Gaussians)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    x = rng.standard_normal((n, 4))
    return radius * x / np.linalg.norm(x, axis=1, keepdims=True)


def sample_neck(n: int, rng: np.random.Generator, radii: tuple[float, float] = CONSTANTS.neck_radii,
                r0: float = 1.0) -> np.ndarray:
    """n points uniform on S^1(r0) x S^3(r1) x S^3(r2), embedded in R^2 x R^4 x R^4 (shape (n, 10))."""
    th = rng.uniform(0, 2 * math.pi, n)
    circle = r0 * np.stack([np.cos(th), np.sin(th)], axis=1)
    return np.concatenate([circle, sample_s3(n, rng, radii[0]), sample_s3(n, rng, radii[1])], axis=1)


def neck_coordinates(points: np.ndarray) -> np.ndarray:
    """The 7 effective coordinates (theta, Hopf angles of each S^3) of embedded neck points (n, 10)."""
    def hopf(q: np.ndarray) -> np.ndarray:
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        eta = np.arctan2(np.hypot(q[:, 2], q[:, 3]), np.hypot(q[:, 0], q[:, 1]))
        return np.stack([eta, np.arctan2(q[:, 1], q[:, 0]), np.arctan2(q[:, 3], q[:, 2])], axis=1)

    theta = np.arctan2(points[:, 1], points[:, 0])[:, None]
    return np.concatenate([theta, hopf(points[:, 2:6]), hopf(points[:, 6:10])], axis=1)


def round_neck_metric(coords: torch.Tensor, radii: tuple[float, float] = CONSTANTS.neck_radii,
                      r0: float = 1.0) -> torch.Tensor:
    """Round product metric in neck coordinates: r0^2 dth^2 + sum_k r_k^2 (deta^2 + cos^2 eta dxi1^2 + sin^2 eta dxi2^2).

    Its scalar curvature is 6/r1^2 + 6/r2^2 (each unit S^3 has R = 6).
    """
    diag = [torch.full_like(coords[..., 0], r0 ** 2)]
    for k, r in enumerate(radii):
        eta = coords[..., 1 + 3 * k]
        diag += [torch.full_like(eta, r ** 2), (r * torch.cos(eta)) ** 2, (r * torch.sin(eta)) ** 2]
    return torch.diag_embed(torch.stack(diag, dim=-1))


def reference_scales(radii: tuple[float, float] = CONSTANTS.neck_radii,
                     det_target: float = float(CONSTANTS.det_g_target)) -> torch.Tensor:
    """Orthonormal coframe scales s_i (g_ref = diag(s^2)) of the flat chart: c diag(1, rho^2 I3, I3), det = target."""
    rho = radii[0] / radii[1]
    base = torch.tensor([1.0] + [rho ** 2] * 3 + [1.0] * 3, dtype=torch.float64)
    c = (det_target / float(base.prod())) ** (1.0 / 7.0)
    return torch.sqrt(c * base)


def flat_reference_metric(n: int = 1, radii: tuple[float, float] = CONSTANTS.neck_radii) -> torch.Tensor:
    """The flat reference metric of the chart, repeated n times: (n, 7, 7)."""
    return torch.diag(reference_scales(radii) ** 2).expand(n, 7, 7).clone()


def eguchi_hanson_metric(x: torch.Tensor, a: float = 1.0, check: bool = True) -> torch.Tensor:
    """Eguchi-Hanson metric in Cartesian coordinates of R^4 (|x| > a), the resolution of C^2/Z2.

    g = dr^2/F + (r^2/4)(s1^2 + s2^2) + (r^2/4) F s3^2, F = 1 - a^4/r^4, written as
    g_ij = delta_ij + (1/F - 1) x_i x_j / r^2 + (F - 1) (Jx)_i (Jx)_j / r^2 with J the complex
    structure whose orbits are the Hopf fibres. Closed forms: det g = 1, Ricci = 0.
    Pass check=False inside torch.func transforms (no data-dependent branch).
    """
    r2 = (x ** 2).sum(-1)
    if check and bool((r2 <= a ** 2).any()):
        raise ValueError("eguchi_hanson_metric: every point needs |x| > a (the bolt is at r = a)")
    F = 1 - a ** 4 / r2 ** 2
    Jx = torch.stack([-x[..., 1], x[..., 0], -x[..., 3], x[..., 2]], dim=-1)
    eye = torch.eye(4, dtype=x.dtype, device=x.device)
    rad = x[..., :, None] * x[..., None, :] / r2[..., None, None]
    fib = Jx[..., :, None] * Jx[..., None, :] / r2[..., None, None]
    return eye + (1 / F - 1)[..., None, None] * rad + (F - 1)[..., None, None] * fib
