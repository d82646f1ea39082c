"""The unrestricted route on the Bryant–Salamon shell: a 7-D network for all 35 components of phi.

``ShellNet`` reads a whole point of the shell -- the radius and both S^3 points as unit quaternions,
q1 = exp(y), q2 = exp(z) -- and returns every component of phi in the left-invariant coframe
(dr, sigma_1..3, nu_1..3) (Euler normalisation) as the cone start plus a correction. Nothing in it is
SU(2)^3-invariant: the symmetry of the answer has to come out of the equations. ``NetworkShellLoss``
is the real torsion (the package's 7-D forward-mode ``torsion``, no det or normalisation proxies) plus

- **boundary data** on the slice r = r1: phi equals the exact Bryant–Salamon phi there, all 35
  components (``boundary_residual``). ``boundary="hard"`` multiplies the correction by (r - r1) so the
  data hold exactly (the term is then zero and only reported); ``"soft"`` trains on the term.
- **the radial gauge** for diffeomorphisms: g(d_r, d_r) = 1 / f(r) and g(d_r, angular) = 0, seven
  conditions for the seven functions of a diffeomorphism (see below). ``gauge="frame"`` holds it by
  construction (phi = phi0 pulled back by the coframe diag(f^-1/2, P(x)), the network giving the 6 x 6
  slice coframe P); ``gauge="term"`` lets the network give all 35 components and trains
  ``gauge_residual`` as a penalty.

Why that fixes the gauge and why the solution is then unique. A torsion-free G2 structure is determined
near a hypersurface by the SU(3)-structure it induces there (Hitchin, *Stable forms and special
metrics*, 2001: with phi = dt ^ omega + rho, *phi = omega^2 / 2 - dt ^ rho_hat in the normal coordinate t,
the torsion-free equations are the flow d/dt rho = d omega, d/dt (omega^2 / 2) = -d rho_hat; unique
because the metric is Ricci flat, hence real analytic; see Bryant, *Non-embedding and non-extension
results in special holonomy*, 2010). The data phi|_{r1} give that SU(3)-structure.
What is left is the choice of coordinates off the slice: a diffeomorphism fixing the slice pointwise has
seven component functions. g(d_r, angular) = 0 makes the r-lines orthogonal to the slices and
g(d_r, d_r) = N(r)^2 makes the slices equidistant (N = f^(-1/2), the lapse of the radius the answer is
written in, as the quick route's c_0 = r^2 / (6 sqrt 3)), so the r-lines are the normal geodesics of the
r1 slice and r measures distance along them: Gaussian normal coordinates with a prescribed distance
function, unique once the slice is. The only freedom left is a diffeomorphism of the slice that
preserves the data there -- an isometry (SU(2)^3 itself), which moves nothing. So the loss is zero only
at Bryant–Salamon written in its own coordinates, and the metric in the chart can be compared directly
(``metric_rel_error``); the gauge-invariant errors of ``labkit.g2_pinn.invariants`` do not rely on it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from labkit.g2_pinn.algebra import induced_metric
from labkit.g2_pinn.bryant_salamon import (
    bs_coframe,
    bs_phi,
    invariant_coefficients,
    invariant_phi,
    orthonormal_phi,
    shell_coframe,
)
from labkit.g2_pinn.charts import exp_quaternion, sample_log_haar
from labkit.g2_pinn.forms import index_sets, pullback_form
from labkit.g2_pinn.model import ACTIVATIONS, small_mlp
from labkit.g2_pinn.shell import chebyshev, cone_coefficients
from labkit.g2_pinn.torsion import torsion

__all__ = ["BOUNDARY_MODES", "NetworkShellLoss", "ShellNet", "boundary_residual", "gauge_residual", "sample_slice"]

BOUNDARY_MODES = ("hard", "soft")
GAUGE_MODES = ("term", "frame")

#: a frame field: chart points x (..., 7) -> phi (..., 35) in the coframe (dr, sigma, nu)
FrameField = Callable[[torch.Tensor], torch.Tensor]


def sample_slice(n: int, r: float, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """n chart points (n, 7) on the slice {r} x S^3 x S^3, each S^3 Haar-uniform.

    Example:
        >>> sample_slice(3, 1.25, torch.Generator().manual_seed(0))[:, 0].tolist()
        [1.25, 1.25, 1.25]
    """
    return torch.cat([torch.full((n, 1), float(r), dtype=dtype), sample_log_haar(n, generator, dtype),
                      sample_log_haar(n, generator, dtype)], dim=1)


def boundary_residual(frame_field: FrameField, x_slice: torch.Tensor, a: float) -> torch.Tensor:
    """|phi(x) - phi_BS(r)|^2 / |phi_BS(r)|^2 (N,) at points of a slice, components in the coframe (dr, sigma, nu).

    Example:
        >>> x = sample_slice(4, 1.25, torch.Generator().manual_seed(0))
        >>> float(boundary_residual(lambda y: bs_phi(y[..., 0], 1.0), x, 1.0).max())
        0.0
    """
    exact = bs_phi(x_slice[..., 0], a)
    return (frame_field(x_slice) - exact).pow(2).sum(-1) / exact.pow(2).sum(-1)


def gauge_residual(G: torch.Tensor, r: torch.Tensor, a: float) -> torch.Tensor:
    """(f g_rr - 1)^2 + sum_i g_ri^2 / (g_rr g_ii) (...,) for metrics G (..., 7, 7) in the coframe (dr, sigma, nu).

    Zero exactly in the radial gauge: d_r orthogonal to the slices and g(d_r, d_r) = 1/f, f = 1 - a^3/r^3
    (d_r is the chart's radial vector, and dr is the coframe's first form, so g_ri = G[0, i]).

    Example:
        >>> from labkit.g2_pinn.bryant_salamon import bs_metric
        >>> r = torch.tensor([1.3, 2.0], dtype=torch.float64)
        >>> gauge_residual(bs_metric(r), r, 1.0).abs().max() < 1e-28
        tensor(True)
    """
    f = 1 - (a / r) ** 3
    diag = torch.diagonal(G, dim1=-2, dim2=-1)
    cross = G[..., 0, 1:].pow(2) / (diag[..., :1] * diag[..., 1:])
    return (f * G[..., 0, 0] - 1).pow(2) + cross.sum(-1)


class ShellNet(nn.Module):
    """phi(x) = cone start(r) + correction(r, q1, q2): an unrestricted 7-D network (no SU(2)^3 symmetry built in).

    The correction is |c(r1)| (r/r1)^w_I MLP(T_1..T_degree(s), q1, q2)_I with w_I = 2 for components with dr
    and 3 for the angular ones (the cone's scaling), T_k the Chebyshev polynomials of s = r mapped to
    [-1, 1], q1 = exp(y), q2 = exp(z) (smooth on the whole of S^3 x S^3). The degree is low on purpose:
    T_k'' reaches about k^4 / 3 at the ends of [-1, 1], and at degree 8 that put the error of the learned
    curvature (second derivatives of the metric) at 0.1-0.5 near r2 against <= 1e-2 inside; degree 2 gives
    <= 1.3e-2 everywhere. With ``boundary="hard"`` it is also multiplied by (r - r1) / (r2 - r1), so the
    data at r1 hold exactly. ``init_scale=0`` starts exactly at the cone through the r1 slice. With
    ``gauge="frame"`` the network gives instead a correction to the slice coframe P = (r/r1)(P_BS(r1) + MLP)
    and phi = phi0 pulled back by diag(f^-1/2, P), so the radial gauge holds exactly.

    Example:
        >>> from labkit.g2_pinn.shell import sample_shell
        >>> net = ShellNet(1.0, 1.25, 2.25, hidden=(8,))
        >>> x = sample_shell(3, 1.25, 2.25, torch.Generator().manual_seed(0))
        >>> net(x).shape, net.frame_metric(x).shape
        (torch.Size([3, 35]), torch.Size([3, 7, 7]))
    """

    c_r1: torch.Tensor
    weights: torch.Tensor

    def __init__(self, a: float, r1: float, r2: float, hidden: tuple[int, ...] | list[int] = (64, 64, 64),
                 activation: str = "tanh", init_scale: float = 0.0, boundary: str = "hard", gauge: str = "frame",
                 degree: int = 2, dtype: torch.dtype = torch.float64):
        super().__init__()
        if not 0 < a < r1 < r2:
            raise ValueError(f"shell: need 0 < a < r1 < r2, got a={a}, r1={r1}, r2={r2}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if boundary not in BOUNDARY_MODES:
            raise ValueError(f"boundary must be one of {BOUNDARY_MODES}, got {boundary!r}")
        if not hidden or any(int(h) < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty list of positive widths, got {hidden!r}")
        if gauge not in GAUGE_MODES:
            raise ValueError(f"gauge must be one of {GAUGE_MODES}, got {gauge!r}")
        self.a, self.r1, self.r2, self.boundary, self.gauge = float(a), float(r1), float(r2), boundary, gauge
        coeffs, _ = invariant_coefficients(bs_phi(torch.tensor(self.r1, dtype=dtype), self.a))
        self.register_buffer("c_r1", coeffs)
        self.register_buffer("weights", torch.tensor([2.0 if I[0] == 0 else 3.0 for I in index_sets(3)], dtype=dtype))
        self.scale = float(torch.linalg.vector_norm(coeffs))
        self.register_buffer("P_r1", bs_coframe(torch.tensor(self.r1, dtype=dtype), self.a)[1:, 1:].clone())
        self.register_buffer("phi_orth", orthonormal_phi(dtype))
        self.degree = int(degree)
        self.net = small_mlp(self.degree + 8, hidden, 35 if gauge == "term" else 36, activation, init_scale, dtype)
        self.hidden = tuple(int(h) for h in hidden)
        #: the keyword arguments that rebuild this model (the artifact's config)
        self.config = {"a": self.a, "r1": self.r1, "r2": self.r2, "hidden": list(self.hidden),
                       "activation": activation, "init_scale": float(init_scale), "boundary": boundary,
                       "gauge": gauge, "degree": self.degree}

    def start(self, r: torch.Tensor) -> torch.Tensor:
        """The cone through the Bryant–Salamon slice at r1 (..., 35) in the coframe (dr, sigma, nu)."""
        return invariant_phi(cone_coefficients(self.c_r1, r, self.r1))

    def frame_components(self, x: torch.Tensor) -> torch.Tensor:
        """phi (..., 35) in the coframe (dr, sigma, nu) at chart points x = (r, y, z) (..., 7)."""
        r = x[..., :1]
        s = (r - self.r1) / (self.r2 - self.r1)
        feats = torch.cat([chebyshev(2 * s - 1, self.degree)[..., 1:], exp_quaternion(x[..., 1:4]),
                           exp_quaternion(x[..., 4:7])], dim=-1)
        out = self.net(feats)
        if self.boundary == "hard":
            out = s * out
        if self.gauge == "term":
            return self.start(x[..., 0]) + self.scale * (r / self.r1) ** self.weights * out
        # gauge "frame": phi = phi0 pulled back by E = diag(f^-1/2, P), P = cone + correction
        f = 1 - (self.a / x[..., 0]) ** 3
        P = (r[..., None] / self.r1) * (self.P_r1 + out.unflatten(-1, (6, 6)))
        zeros = torch.zeros_like(P[..., 0])  # (..., 6)
        top = torch.cat([torch.rsqrt(f)[..., None], zeros], dim=-1)[..., None, :]
        E = torch.cat([top, torch.cat([zeros[..., None], P], dim=-1)], dim=-2)
        return pullback_form(self.phi_orth.expand(*x.shape[:-1], 35), E, 3)

    def frame_metric(self, x: torch.Tensor) -> torch.Tensor:
        """The induced metric G (..., 7, 7) in the coframe (dr, sigma, nu) (Euler normalisation)."""
        return induced_metric(self.frame_components(x), check=False)

    def metric(self, x: torch.Tensor) -> torch.Tensor:
        """The induced metric (..., 7, 7) in chart coordinates at chart points x = (r, y, z) (..., 7)."""
        C = shell_coframe(x)
        return C.transpose(-1, -2) @ self.frame_metric(x) @ C

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """phi's coordinate components (..., 35) at chart points x = (r, y, z)."""
        return pullback_form(self.frame_components(x), shell_coframe(x), 3)


class NetworkShellLoss:
    """mean |d phi|^2_g + mean |d*phi|^2_g + w_gauge mean gauge_residual + w_boundary mean boundary_residual.

    The boundary term is evaluated on its own points of the slice r = r1 (``x_slice``); with a hard
    boundary it is zero by construction and its weight does not matter.

    Example:
        >>> from labkit.g2_pinn.shell import sample_shell
        >>> gen = torch.Generator().manual_seed(0)
        >>> net = ShellNet(1.0, 1.25, 2.25, hidden=(8,))
        >>> terms, _ = NetworkShellLoss(1.0)(net, sample_shell(4, 1.25, 2.25, gen), sample_slice(4, 1.25, gen))
        >>> sorted(terms)
        ['boundary', 'gauge', 'torsion_dphi', 'torsion_dstar', 'total']
    """

    def __init__(self, a: float, w_gauge: float = 1.0, w_boundary: float = 1.0):
        self.a, self.w_gauge, self.w_boundary = float(a), float(w_gauge), float(w_boundary)

    def __call__(self, model: ShellNet, x: torch.Tensor,
                 x_slice: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        t = torsion(model, x)
        G = model.frame_metric(x)
        terms = {"torsion_dphi": t["dphi_sq"].mean(), "torsion_dstar": t["dstar_sq"].mean(),
                 "gauge": gauge_residual(G, x[:, 0], self.a).mean(),
                 "boundary": boundary_residual(model.frame_components, x_slice, self.a).mean()}
        terms["total"] = (terms["torsion_dphi"] + terms["torsion_dstar"] + self.w_gauge * terms["gauge"]
                          + self.w_boundary * terms["boundary"])
        return terms, t
