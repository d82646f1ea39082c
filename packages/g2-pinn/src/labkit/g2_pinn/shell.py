"""Cohomogeneity-one G2 structures on a radial shell [r1, r2] x S^3 x S^3, and their loss.

``ShellPhi`` is an SU(2)^3-invariant 3-form phi = sum_k c_k(r) INVARIANT_FORMS[k] whose five
coefficient functions come from a small network of r. It is evaluated as a field on the 7-D chart
x = (r, y, z), so its torsion goes through the package's forward-mode ``torsion`` like any other field.

What makes the solution unique (the boundary data and the gauge):
- Diffeomorphisms r -> s(r) are a gauge: they rescale the coefficient c_0 of dr ^ sum nu_i sigma_i by
  dr/ds and move the others along r, so any positive c_0(r) can be reached. The gauge is fixed by
  c_0 = c_0(r1) (r / r1)^2 (= r^2 / (6 sqrt 3), the radial coordinate Bryant–Salamon is written in).
- dphi = 0 then reads c_1' = c_2' = 0, c_3' = c_0 = -c_4' and c_3 + c_4 = 0, first-order ODEs in r, so
  data on one slice fix the solution: c_1..4 are held at their Bryant–Salamon values at r = r1 by
  construction (they are c_k(r1) plus integrals from r1). d*phi = 0 holds on that solution because
  the slice data are Bryant–Salamon's; for other data the loss could not reach zero.
- The start is the cone through the data at r1: the angular coefficients scale as r^3 (c_0 as r^2
  already). It has the Bryant–Salamon slice at r1 but is not torsion free (that slice is not nearly
  Kaehler), and its metric is 0.35 (relative RMS) from the answer on [1.25a, 2.25a].
- Not imposed, so an independent check: the size of the base S^3 (``base_size``) must come out r^2 / 12.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from labkit.g2_pinn.algebra import induced_metric
from labkit.g2_pinn.bryant_salamon import bs_phi, invariant_coefficients, invariant_phi, shell_coframe
from labkit.g2_pinn.charts import sample_log_haar
from labkit.g2_pinn.forms import pullback_form
from labkit.g2_pinn.model import ACTIVATIONS, small_mlp
from labkit.g2_pinn.torsion import torsion

__all__ = ["ShellLoss", "ShellPhi", "chebyshev", "cone_coefficients", "sample_shell"]

#: how each coefficient scales on a cone r -> lambda r: dr ^ (2-form) as lambda^2, angular 3-forms as lambda^3
_CONE_WEIGHTS = (2.0, 3.0, 3.0, 3.0, 3.0)


def cone_coefficients(c_r1: torch.Tensor, r: torch.Tensor, r1: float) -> torch.Tensor:
    """The cone through the slice data c_r1 (5,) at r1: c_k(r1) (r / r1)^w_k (..., 5), w = (2, 3, 3, 3, 3).

    Example:
        >>> cone_coefficients(torch.ones(5), torch.tensor([2.0]), 1.0).tolist()
        [[4.0, 8.0, 8.0, 8.0, 8.0]]
    """
    weights = torch.tensor(_CONE_WEIGHTS, dtype=c_r1.dtype, device=c_r1.device)
    return c_r1 * (r[..., None] / r1) ** weights


def sample_shell(n: int, r1: float, r2: float, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """n chart points (n, 7) = (r, y, z): r arcsine-distributed on [r1, r2], each S^3 Haar-uniform.

    r = r1 + (r2 - r1)(1 - cos(pi u)) / 2 with u uniform: the Chebyshev density, which puts collocation
    points at both ends of the shell, where the coefficient functions are least constrained.

    Example:
        >>> x = sample_shell(4, 1.2, 2.2, torch.Generator().manual_seed(0))
        >>> x.shape, bool(((x[:, 0] >= 1.2) & (x[:, 0] <= 2.2)).all())
        (torch.Size([4, 7]), True)
    """
    u = torch.rand(n, 1, generator=generator, dtype=dtype)
    r = r1 + (r2 - r1) * (1 - torch.cos(math.pi * u)) / 2
    return torch.cat([r, sample_log_haar(n, generator, dtype), sample_log_haar(n, generator, dtype)], dim=1)


def chebyshev(t: torch.Tensor, degree: int) -> torch.Tensor:
    """T_0(t) .. T_degree(t) (..., degree + 1) for t (..., 1) in [-1, 1] (three-term recurrence).

    Example:
        >>> chebyshev(torch.tensor([[0.5]]), 3).tolist()
        [[1.0, 0.5, -0.5, -1.0]]
    """
    out = [torch.ones_like(t), t]
    for _ in range(degree - 1):
        out.append(2 * t * out[-1] - out[-2])
    return torch.cat(out[: degree + 1], dim=-1)


class ShellPhi(nn.Module):
    """phi(r) = sum_k c_k(r) INVARIANT_FORMS[k] with c = cone start + network correction; data held at r1.

    Example:
        >>> net = ShellPhi(a=1.0, r1=1.25, r2=2.25, hidden=(8,))
        >>> x = sample_shell(3, 1.25, 2.25, torch.Generator().manual_seed(0))
        >>> net(x).shape, net.coefficients(x[:, 0]).shape
        (torch.Size([3, 35]), torch.Size([3, 5]))
    """

    c_r1: torch.Tensor

    def __init__(self, a: float, r1: float, r2: float, hidden: tuple[int, ...] | list[int] = (32, 32),
                 activation: str = "tanh", init_scale: float = 0.0, degree: int = 8, quadrature: int = 16, dtype: torch.dtype = torch.float64):
        super().__init__()
        if not 0 < a < r1 < r2:
            raise ValueError(f"shell: need 0 < a < r1 < r2, got a={a}, r1={r1}, r2={r2}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.a, self.r1, self.r2 = float(a), float(r1), float(r2)
        coeffs, _ = invariant_coefficients(bs_phi(torch.tensor(self.r1, dtype=dtype), self.a))
        self.register_buffer("c_r1", coeffs)
        self.scale = float(torch.linalg.vector_norm(coeffs))
        self.net = small_mlp(degree + 1, hidden, 4, activation, init_scale, dtype)  # the corrections to c_1..4
        self.hidden, self.degree = tuple(int(h) for h in hidden), int(degree)
        #: the keyword arguments that rebuild this model (the artifact's config)
        self.config = {"a": self.a, "r1": self.r1, "r2": self.r2, "hidden": list(self.hidden),
                       "activation": activation, "init_scale": float(init_scale), "degree": self.degree,
                       "quadrature": int(quadrature)}
        nodes, w = np.polynomial.legendre.leggauss(quadrature)
        self.gauss = (torch.as_tensor(nodes, dtype=dtype), torch.as_tensor(w, dtype=dtype))

    def start_coefficients(self, r: torch.Tensor) -> torch.Tensor:
        """The cone through the data at r1: c_k(r1) (r / r1)^w_k (..., 5)."""
        return cone_coefficients(self.c_r1, r, self.r1)

    def _correction(self, r: torch.Tensor) -> torch.Tensor:
        """d/dr of the correction to c_1..4: |c(r1)| (r/r1)^2 network(r) (..., 4), the network reading
        Chebyshev polynomials of r mapped to [-1, 1]."""
        s = (r[..., None] - self.r1) / (self.r2 - self.r1)
        return self.scale * (r[..., None] / self.r1) ** 2 * self.net(chebyshev(2 * s - 1, self.degree))

    def coefficients(self, r: torch.Tensor) -> torch.Tensor:
        """c(r) (..., 5): c_0 = c_0(r1) (r/r1)^2 (the gauge), c_k = start_k + int_r1^r correction (k = 1..4).

        The angular coefficients are integrals of the network (Gauss-Legendre on [r1, r]), so the data at
        r1 hold exactly and the radial part of d phi, c_k' - c_0 (d omega)_k, is algebraic in the network's
        output instead of a derivative of it: a regression-like, well-conditioned loss.
        """
        nodes, weights = self.gauss
        half = (r[..., None] - self.r1) / 2  # (..., 1)
        s = self.r1 + half * (1 + nodes.to(r))  # (..., Q)
        integral = (half[..., None] * weights.to(r)[:, None] * self._correction(s)).sum(-2)
        start = self.start_coefficients(r)
        return torch.cat([start[..., :1], start[..., 1:] + integral], dim=-1)

    def frame_components(self, r: torch.Tensor) -> torch.Tensor:
        """phi (..., 35) in the coframe (dr, sigma, nu) (Euler normalisation)."""
        return invariant_phi(self.coefficients(r))

    def frame_metric(self, r: torch.Tensor) -> torch.Tensor:
        """The induced metric G (..., 7, 7) in the coframe (dr, sigma, nu) (Euler normalisation)."""
        return induced_metric(self.frame_components(r), check=False)

    def metric(self, x: torch.Tensor) -> torch.Tensor:
        """The induced metric (..., 7, 7) in chart coordinates at chart points x = (r, y, z) (..., 7)."""
        C = shell_coframe(x)
        return C.transpose(-1, -2) @ self.frame_metric(x[..., 0]) @ C

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """phi's coordinate components (..., 35) at chart points x = (r, y, z)."""
        return pullback_form(self.frame_components(x[..., 0]), shell_coframe(x), 3)


class ShellLoss:
    """mean |d phi|^2_g + mean |d*phi|^2_g: the real torsion and nothing else (no proxies).

    Example:
        >>> net = ShellPhi(1.0, 1.25, 2.25, hidden=(8,))
        >>> terms, _ = ShellLoss()(net, sample_shell(4, 1.25, 2.25, torch.Generator().manual_seed(0)))
        >>> sorted(terms)
        ['torsion_dphi', 'torsion_dstar', 'total']
    """

    def __call__(self, model: ShellPhi, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        t = torsion(model, x)
        terms = {"torsion_dphi": t["dphi_sq"].mean(), "torsion_dstar": t["dstar_sq"].mean()}
        terms["total"] = terms["torsion_dphi"] + terms["torsion_dstar"]
        return terms, t
