"""Charts of the TCS neck S^1 x S^3 x S^3 on which the PINN lives: the round product and a flat model.

A chart says where collocation points come from (``sample``), what the network sees
(``features``: functions that are smooth on the whole manifold), the orthonormal coframe F of
the reference metric (g_ref = F^T F, rows are the 1-forms e^a = F[a, m] dx^m) in which the
network's output is read, an embedding for point-cloud spectra, and the reference's exact
Laplace spectrum and scalar curvature.

* ``RoundChart`` (the default): S^1(r0) x S^3(r1) x S^3(r2) with its round product metric. Each
  S^3 is charted by the exponential map y -> q = exp(y) (unit quaternions, |y| < pi) and framed by
  its left-invariant Maurer-Cartan forms sigma = Im(q^-1 dq), which obey
  d sigma^1 = -2 sigma^2 ^ sigma^3 (cyclic). S^3 is parallelisable, so the coframe
  e = (r0 dtheta, r1 sigma(y), r2 sigma(z)) is global, and phi_ref = phi0(e) is a smooth G2
  structure on the whole neck whose metric is the round one. It is *not* torsion free
  (d e^i = -(2/r) e^j ^ e^k) and its metric is curved (scalar curvature 6/r1^2 + 6/r2^2).
  No torsion-free G2 structure exists on the compact S^1 x S^3 x S^3 at all: one would be
  Ricci flat with b1 = 1, so its holonomy would lie in SU(3) on a cover S^3 x S^3, which would
  then be Kaehler with b2 >= 1, but b2(S^3 x S^3) = 0 (Joyce 2000, Prop. 10.2.2; Cheeger-Gromoll).
  Training therefore lowers the torsion towards a positive floor, never to zero.
* ``FlatChart``: the periodic box [0, 2 pi)^7 with the constant metric c diag(1, rho^2 I3, I3),
  rho = r1/r2, c fixing det = 65/32: each S^3 replaced by a flat 3-torus. Its reference is torsion
  free *and* flat, which is exactly the trap where small torsion proves nothing (SCIENCE.md); it is
  kept for comparison and for the Fourier-Galerkin spectrum, which needs a periodic chart.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import torch

from labkit.g2_pinn.constants import CONSTANTS
from labkit.g2_pinn.geometry import reference_scales

__all__ = [
    "CHARTS",
    "Chart",
    "FlatChart",
    "RoundChart",
    "exp_quaternion",
    "log_quaternion",
    "make_chart",
    "maurer_cartan",
    "sample_log_haar",
]

CHARTS = ("round", "flat")


def exp_quaternion(y: torch.Tensor) -> torch.Tensor:
    """exp of the imaginary quaternion y (..., 3): the unit quaternion (cos|y|, sin|y| y/|y|) (..., 4)."""
    r2 = (y * y).sum(-1, keepdim=True)
    small = r2 < 1e-8
    r = torch.sqrt(torch.where(small, torch.ones_like(r2), r2))
    sinc = torch.where(small, 1 - r2 / 6, torch.sin(r) / r)
    cos = torch.where(small, 1 - r2 / 2 + r2 * r2 / 24, torch.cos(r))
    return torch.cat([cos, sinc * y], dim=-1)


def log_quaternion(q: torch.Tensor) -> torch.Tensor:
    """The y with exp(y) = q for unit quaternions q (..., 4) other than -1; |y| = angle in [0, pi)."""
    v = q[..., 1:]
    s = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    angle = torch.atan2(s, q[..., :1])
    return torch.where(s > 0, angle / torch.where(s > 0, s, torch.ones_like(s)), torch.ones_like(s)) * v


def sample_log_haar(n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                    r_max: float = 3.0) -> torch.Tensor:
    """n Haar-uniform points of S^3 in the exponential chart (n, 3); the cap |y| > r_max is redrawn.

    Example:
        >>> y = sample_log_haar(5, torch.Generator().manual_seed(0))
        >>> y.shape, bool((torch.linalg.vector_norm(y, dim=-1) <= 3.0).all())
        (torch.Size([5, 3]), True)
    """
    y = torch.empty(0, 3, dtype=dtype)
    while len(y) < n:
        q = torch.randn(2 * n, 4, generator=generator, dtype=dtype)
        cand = log_quaternion(q / torch.linalg.vector_norm(q, dim=-1, keepdim=True))
        y = torch.cat([y, cand[torch.linalg.vector_norm(cand, dim=-1) <= r_max]])
    return y[:n]


def maurer_cartan(y: torch.Tensor) -> torch.Tensor:
    """A(y) (..., 3, 3) with sigma^i = A_ij dy^j, sigma = Im(q^-1 dq) at q = exp(y).

    A = a I + b y y^T - c [y]_x with a = sin(2r)/(2r), b = (1 - a)/r^2, c = (sin r / r)^2, r = |y|
    (from q^-1 dq = u dr + sin r cos r du - sin^2 r u x du, u = y/r). A = I at y = 0 and
    det A = (sin r / r)^2 vanishes at the antipode r = pi, where the chart ends.

    Example:
        >>> torch.allclose(maurer_cartan(torch.zeros(3, dtype=torch.float64)), torch.eye(3, dtype=torch.float64))
        True
    """
    r2 = (y * y).sum(-1)[..., None, None]
    small = r2 < 1e-8
    rs = torch.sqrt(torch.where(small, torch.ones_like(r2), r2))
    a = torch.where(small, 1 - 2 * r2 / 3 + 2 * r2 * r2 / 15, torch.sin(2 * rs) / (2 * rs))
    b = torch.where(small, 2.0 / 3.0 - 2 * r2 / 15, (1 - torch.sin(2 * rs) / (2 * rs)) / torch.where(small, 1, r2))
    c = torch.where(small, 1 - r2 / 3 + 2 * r2 * r2 / 45, (torch.sin(rs) / rs) ** 2)
    y1, y2, y3 = y[..., 0], y[..., 1], y[..., 2]
    zero = torch.zeros_like(y1)
    cross = torch.stack([torch.stack([zero, -y3, y2], -1), torch.stack([y3, zero, -y1], -1),
                         torch.stack([-y2, y1, zero], -1)], -2)
    eye = torch.eye(3, dtype=y.dtype, device=y.device)
    return a * eye + b * y[..., :, None] * y[..., None, :] - c * cross


class Chart(ABC):
    """A coordinate model of the neck with a reference G2 structure phi_ref = phi0(F dx)."""

    name: str
    radii: tuple[float, float]  # the two S^3 radii (r1, r2)
    n_features: int
    period: float | None  # coordinate period of ``embed`` output (None: ambient Euclidean coordinates)
    reference_scalar_curvature: float

    @abstractmethod
    def sample(self, n: int, generator: torch.Generator | None = None, device: str | torch.device = "cpu",
               dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """n collocation points (n, 7), uniform for the reference volume (global torch RNG if no generator)."""

    @abstractmethod
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Network input (..., n_features): smooth functions on the manifold (not just the chart)."""

    @abstractmethod
    def coframe(self, x: torch.Tensor) -> torch.Tensor:
        """F (..., 7, 7): the reference's orthonormal coframe, e^a = F[a, m] dx^m."""

    @abstractmethod
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Points (..., D) for the diffusion-map spectrum (reference distances = Euclidean there)."""

    @abstractmethod
    def reference_spectrum(self, n: int) -> np.ndarray:
        """The n smallest Laplace eigenvalues of the reference metric, with multiplicity."""

    def reference_metric(self, x: torch.Tensor) -> torch.Tensor:
        """g_ref = F^T F (..., 7, 7)."""
        F = self.coframe(x)
        return F.transpose(-1, -2) @ F

    def ambient_metric(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """The metric g (chart components) as a (..., D, D) tensor on the embedding's ambient space.

        With J = d embed / dx and J+ its pseudo-inverse: M = J+^T g J+ on the tangent space plus the
        identity on the normal space, so the reference gives M = I (chordal distances) and a learned
        metric changes distances along the manifold only.
        """
        J = torch.func.vmap(torch.func.jacfwd(self.embed))(x.reshape(-1, 7)).reshape(*x.shape[:-1], -1, 7)
        pinv = torch.linalg.pinv(J)  # (..., 7, D)
        tangent = J @ pinv
        eye = torch.eye(J.shape[-2], dtype=J.dtype, device=J.device)
        return pinv.transpose(-1, -2) @ g @ pinv + (eye - tangent)


class RoundChart(Chart):
    """S^1(r0) x S^3(r1) x S^3(r2): coordinates (theta, y, z), q1 = exp(y), q2 = exp(z), |y|, |z| <= r_max.

    Example:
        >>> chart = RoundChart((2.0, 3.0))
        >>> x = chart.sample(4, torch.Generator().manual_seed(0))
        >>> torch.allclose(torch.linalg.det(chart.reference_metric(x)),
        ...                torch.linalg.det(chart.coframe(x)) ** 2)
        True
    """

    name = "round"
    n_features = 10
    period = None

    def __init__(self, radii: tuple[float, float] = CONSTANTS.neck_radii, r0: float = 1.0, r_max: float = 3.0):
        if min(radii) <= 0 or r0 <= 0:
            raise ValueError(f"radii: must be positive, got {radii} and r0={r0}")
        if not 0 < r_max < math.pi:
            raise ValueError(f"r_max: the exponential chart needs 0 < r_max < pi, got {r_max}")
        self.radii, self.r0, self.r_max = (float(radii[0]), float(radii[1])), float(r0), float(r_max)
        self.reference_scalar_curvature = 6 / self.radii[0] ** 2 + 6 / self.radii[1] ** 2

    def sample(self, n, generator=None, device="cpu", dtype=torch.float64):
        theta = torch.rand(n, 1, generator=generator, dtype=dtype) * (2 * math.pi)
        logs = [sample_log_haar(n, generator, dtype, self.r_max) for _ in range(2)]
        return torch.cat([theta, *logs], dim=1).to(device)

    def features(self, x):
        return torch.cat([torch.cos(x[..., :1]), torch.sin(x[..., :1]), exp_quaternion(x[..., 1:4]),
                          exp_quaternion(x[..., 4:7])], dim=-1)

    def coframe(self, x):
        top = torch.cat([torch.full_like(x[..., :1], self.r0), torch.zeros_like(x[..., :6])], dim=-1)[..., None, :]
        zeros = torch.zeros(*x.shape[:-1], 3, 3, dtype=x.dtype, device=x.device)
        first = torch.cat([zeros[..., :, :1], self.radii[0] * maurer_cartan(x[..., 1:4]), zeros], dim=-1)
        second = torch.cat([zeros[..., :, :1], zeros, self.radii[1] * maurer_cartan(x[..., 4:7])], dim=-1)
        return torch.cat([top, first, second], dim=-2)

    def embed(self, x):
        return torch.cat([self.r0 * torch.cos(x[..., :1]), self.r0 * torch.sin(x[..., :1]),
                          self.radii[0] * exp_quaternion(x[..., 1:4]), self.radii[1] * exp_quaternion(x[..., 4:7])],
                         dim=-1)

    def reference_spectrum(self, n: int) -> np.ndarray:
        levels: dict[float, int] = {}
        r1, r2 = self.radii
        kmax = math.ceil(math.sqrt(n)) + 2
        lmax = 2 * math.ceil(n ** 0.25) + 4
        for k in range(-kmax, kmax + 1):
            for a in range(lmax):
                for b in range(lmax):
                    lam = k * k / self.r0 ** 2 + a * (a + 2) / r1 ** 2 + b * (b + 2) / r2 ** 2
                    levels[lam] = levels.get(lam, 0) + (a + 1) ** 2 * (b + 1) ** 2
        out: list[float] = []
        for lam in sorted(levels):
            out += [lam] * levels[lam]
            if len(out) >= n:
                break
        return np.array(out[:n])


class FlatChart(Chart):
    """The periodic box [0, 2 pi)^7 with the constant metric diag(s^2), det = 65/32 (``reference_scales``)."""

    name = "flat"
    n_features = 14
    period = 2 * math.pi
    reference_scalar_curvature = 0.0

    def __init__(self, radii: tuple[float, float] = CONSTANTS.neck_radii):
        self.radii = (float(radii[0]), float(radii[1]))
        self.scales = reference_scales(self.radii)

    def sample(self, n, generator=None, device="cpu", dtype=torch.float64):
        return (torch.rand(n, 7, generator=generator, dtype=dtype) * (2 * math.pi)).to(device)

    def features(self, x):
        return torch.cat([torch.sin(x), torch.cos(x)], dim=-1)

    def coframe(self, x):
        return torch.diag(self.scales.to(dtype=x.dtype, device=x.device)).expand(*x.shape[:-1], 7, 7)

    def embed(self, x):
        return x

    def ambient_metric(self, x, g):
        return g

    def reference_spectrum(self, n):
        import itertools

        s2 = self.scales.numpy() ** 2
        ks = np.array(list(itertools.product(range(-2, 3), repeat=7)), dtype=float)
        return np.sort((ks ** 2 / s2).sum(1))[:n]


def make_chart(kind: str | Chart, radii: tuple[float, float] = CONSTANTS.neck_radii, r0: float = 1.0) -> Chart:
    """A chart by name ('round' or 'flat'; r0 is the round chart's circle radius), or the chart itself."""
    if isinstance(kind, Chart):
        return kind
    if kind == "round":
        return RoundChart(radii, r0=r0)
    if kind == "flat":
        return FlatChart(radii)
    raise ValueError(f"chart: unknown {kind!r}; allowed: {', '.join(CHARTS)}")
