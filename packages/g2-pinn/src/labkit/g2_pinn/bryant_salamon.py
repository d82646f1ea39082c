"""The Bryant–Salamon torsion-free G2 structure on R^4 x S^3, a known answer on the neck's cross-section.

The complete G2 metric on the spinor bundle of S^3 (Bryant & Salamon 1989; Gibbons, Page & Pope 1990)
is cohomogeneity one over S^3 x S^3. With left-invariant forms sigma_i (first S^3) and nu_i (second
S^3) normalised as Euler-angle forms, d sigma_1 = -sigma_2 ^ sigma_3 (``EULER`` = 2 times the
Maurer-Cartan forms Im(q^-1 dq) of ``labkit.g2_pinn.charts``), it reads

    g = dr^2 / f + (r^2 / 9) f sum_i (nu_i - sigma_i / 2)^2 + (r^2 / 12) sum_i sigma_i^2,  f = 1 - a^3 / r^3,

for r > a (the bolt S^3 sits at r = a). In the orthonormal coframe e^0 = dr / sqrt f,
e^i = (r / 3) sqrt f (nu_i - sigma_i / 2), et^i = r / (2 sqrt 3) sigma_i its associative 3-form is

    phi = e^0 ^ omega - Im Omega,  omega = sum_i e^i ^ et^i,  Omega = (e^1 + i et^1)(e^2 + i et^2)(e^3 + i et^3),

i.e. phi = e^0 (e^1 et^1 + e^2 et^2 + e^3 et^3) - (et^1 e^2 e^3 + e^1 et^2 e^3 + e^1 e^2 et^3) + et^123.
Of the four phases of Omega only this one is closed and co-closed (the tests check it with the
package's torsion and curvature code). Forms here live in the left-invariant coframe
(dr, sigma_1..3, nu_1..3) in Euler normalisation; ``shell_coframe`` carries them to the chart
x = (r, y, z), q1 = exp(y), q2 = exp(z).

Every SU(2)^3-invariant 3-form (left-invariant, and invariant under the diagonal SO(3) that rotates
the sigma_i and nu_i together) is a combination of the five ``INVARIANT_FORMS``:
dr ^ sum nu_i sigma_i, sigma_123, nu_123, sum_cyc nu_i sigma_j sigma_k, sum_cyc sigma_i nu_j nu_k.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import torch

from labkit.g2_pinn.charts import maurer_cartan
from labkit.g2_pinn.forms import component_index, perm_sign, pullback_form

__all__ = [
    "EULER",
    "INVARIANT_NAMES",
    "base_size",
    "bs_coframe",
    "bs_metric",
    "bs_phi",
    "exact_field",
    "exact_metric_field",
    "invariant_coefficients",
    "invariant_forms",
    "invariant_phi",
    "metric_relative_error",
    "orthonormal_phi",
    "shell_coframe",
]

#: sigma_Euler = EULER * sigma_MC: d sigma_1 = -sigma_2 ^ sigma_3 against the chart's d sigma^1 = -2 sigma^2 ^ sigma^3.
EULER = 2.0

#: names of the five SU(2)^3-invariant 3-forms, in the order of ``invariant_forms``
INVARIANT_NAMES = ("dr^nu.sigma", "sigma123", "nu123", "nu.sigma.sigma", "sigma.nu.nu")

_DR, _S, _N = 0, (1, 2, 3), (4, 5, 6)  # positions of dr, sigma_i, nu_i in the coframe


def _form(terms: list[tuple[float, tuple[int, int, int]]], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """35 sorted components of sum coef e^{i j k} (indices in any order, sign applied)."""
    c = torch.zeros(35, dtype=dtype)
    cidx = component_index(3)
    for coef, idx in terms:
        c[cidx[tuple(sorted(idx))]] += coef * perm_sign(idx)
    return c


@cache
def _orthonormal_phi() -> torch.Tensor:
    e0, e, et = 0, (1, 2, 3), (4, 5, 6)  # e^0, the fibre e^i, the base et^i
    terms = [(1.0, (e0, e[i], et[i])) for i in range(3)]
    terms += [(-1.0, (et[0], e[1], e[2])), (-1.0, (e[0], et[1], e[2])), (-1.0, (e[0], e[1], et[2])),
              (1.0, (et[0], et[1], et[2]))]
    return _form(terms)


def orthonormal_phi(dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
    """phi (35,) in the orthonormal coframe (e^0, e^1..3, et^1..3); its metric is the identity.

    Example:
        >>> from labkit.g2_pinn.algebra import induced_metric
        >>> torch.allclose(induced_metric(orthonormal_phi()), torch.eye(7, dtype=torch.float64))
        True
    """
    return _orthonormal_phi().to(dtype=dtype, device=device)


@cache
def _invariant_forms() -> torch.Tensor:
    s, n = _S, _N
    cyc = ((0, 1, 2), (1, 2, 0), (2, 0, 1))
    return torch.stack([
        _form([(1.0, (_DR, n[i], s[i])) for i in range(3)]),
        _form([(1.0, s)]),
        _form([(1.0, n)]),
        _form([(1.0, (n[i], s[j], s[k])) for i, j, k in cyc]),
        _form([(1.0, (s[i], n[j], n[k])) for i, j, k in cyc]),
    ])


def invariant_forms(dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
    """The five SU(2)^3-invariant 3-forms (5, 35) in the coframe (dr, sigma, nu); disjoint supports.

    Example:
        >>> B = invariant_forms()
        >>> B.shape, bool(torch.allclose(B @ B.T, torch.diag(torch.tensor([3., 1, 1, 3, 3], dtype=B.dtype))))
        (torch.Size([5, 35]), True)
    """
    return _invariant_forms().to(dtype=dtype, device=device)


def invariant_phi(coeffs: torch.Tensor) -> torch.Tensor:
    """sum_k coeffs[..., k] INVARIANT_FORMS[k]: the 3-form (..., 35) in the coframe (dr, sigma, nu)."""
    return coeffs @ invariant_forms(coeffs.dtype, coeffs.device)


def invariant_coefficients(phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients (..., 5) of phi (..., 35) on INVARIANT_FORMS, and the norm of what is left over."""
    B = invariant_forms(phi.dtype, phi.device)
    coeffs = (phi @ B.T) / (B * B).sum(-1)
    return coeffs, torch.linalg.vector_norm(phi - coeffs @ B, dim=-1)


def _f(r: torch.Tensor, a: float) -> torch.Tensor:
    return 1 - (a / r) ** 3


def bs_coframe(r: torch.Tensor, a: float = 1.0) -> torch.Tensor:
    """E (..., 7, 7): the orthonormal coframe (e^0, e^1..3, et^1..3) = E (dr, sigma_1..3, nu_1..3).

    Example:
        >>> E = bs_coframe(torch.tensor([2.0], dtype=torch.float64))
        >>> round(float(E[0, 0, 0] ** -2), 6)   # g_rr^-1 = f(2) = 1 - 1/8
        0.875
    """
    f = _f(r, a)[..., None, None]
    dt, dev = r.dtype, r.device
    eye3 = torch.eye(3, dtype=dt, device=dev)
    z3 = torch.zeros(3, 3, dtype=dt, device=dev)
    radial = torch.zeros(7, 7, dtype=dt, device=dev)
    radial[0, 0] = 1.0
    fibre = torch.cat([torch.zeros(7, 1, dtype=dt, device=dev), torch.cat([
        torch.zeros(1, 6, dtype=dt, device=dev), torch.cat([-eye3 / 2, eye3], 1), torch.zeros(3, 6, dtype=dt, device=dev)
    ])], 1)
    base = torch.cat([torch.zeros(7, 1, dtype=dt, device=dev), torch.cat([
        torch.zeros(4, 6, dtype=dt, device=dev), torch.cat([eye3, z3], 1)])], 1)
    rr = r[..., None, None]
    return (radial / torch.sqrt(f) + fibre * (rr / 3) * torch.sqrt(f)
            + base * rr / (2 * math.sqrt(3)))


def bs_metric(r: torch.Tensor, a: float = 1.0) -> torch.Tensor:
    """The Bryant–Salamon metric (..., 7, 7) in the coframe (dr, sigma, nu), Euler normalisation."""
    E = bs_coframe(r, a)
    return E.transpose(-1, -2) @ E


def bs_phi(r: torch.Tensor, a: float = 1.0) -> torch.Tensor:
    """The Bryant–Salamon 3-form (..., 35) in the coframe (dr, sigma, nu), Euler normalisation.

    Example:
        >>> from labkit.g2_pinn.algebra import induced_metric
        >>> r = torch.tensor([1.5], dtype=torch.float64)
        >>> torch.allclose(induced_metric(bs_phi(r), check=False), bs_metric(r))
        True
    """
    E = bs_coframe(r, a)
    return pullback_form(orthonormal_phi(r.dtype, r.device).expand(*r.shape, 35), E, 3)


def shell_coframe(x: torch.Tensor) -> torch.Tensor:
    """C (..., 7, 7) with (dr, sigma_1..3, nu_1..3) = C dx at chart points x = (r, y, z) (..., 7).

    sigma = EULER * Maurer-Cartan(y), nu = EULER * Maurer-Cartan(z) (q1 = exp(y), q2 = exp(z)).
    """
    top = torch.cat([torch.ones_like(x[..., :1]), torch.zeros_like(x[..., :6])], dim=-1)[..., None, :]
    zeros = torch.zeros(*x.shape[:-1], 3, 3, dtype=x.dtype, device=x.device)
    first = torch.cat([zeros[..., :, :1], EULER * maurer_cartan(x[..., 1:4]), zeros], dim=-1)
    second = torch.cat([zeros[..., :, :1], zeros, EULER * maurer_cartan(x[..., 4:7])], dim=-1)
    return torch.cat([top, first, second], dim=-2)


def exact_field(a: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """The exact phi as a field on the chart: x (N, 7) -> coordinate components (N, 35).

    Example:
        >>> from labkit.g2_pinn.torsion import torsion
        >>> x = torch.tensor([[1.6, 0.1, -0.4, 0.3, 0.8, 0.2, -0.5]], dtype=torch.float64)
        >>> t = torsion(exact_field(1.0), x)
        >>> float(t["dphi_sq"][0]) < 1e-20 and float(t["dstar_sq"][0]) < 1e-20
        True
    """
    return lambda x: pullback_form(bs_phi(x[..., 0], a), shell_coframe(x), 3)


def exact_metric_field(a: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """The exact metric at one chart point (7,) -> (7, 7), for ``labkit.g2_pinn.curvature.curvature``."""
    def metric(y: torch.Tensor) -> torch.Tensor:
        C = shell_coframe(y)
        return C.transpose(-1, -2) @ bs_metric(y[..., 0], a) @ C
    return metric


def base_size(G: torch.Tensor) -> torch.Tensor:
    """The coefficient of sum sigma_i^2 once G (..., 7, 7, coframe (dr, sigma, nu)) is written with the
    fibre square completed: 1 / (G^-1)_{sigma sigma}, averaged over i. Bryant–Salamon: r^2 / 12."""
    Ginv = torch.linalg.inv(G)
    return (1.0 / torch.diagonal(Ginv, dim1=-2, dim2=-1)[..., 1:4]).mean(-1)


def metric_relative_error(G: torch.Tensor, r: torch.Tensor, a: float = 1.0) -> torch.Tensor:
    """Pointwise |E^-T G E^-1 - I|_F / sqrt 7 (..,): G against Bryant–Salamon in its orthonormal coframe E.

    Example:
        >>> r = torch.tensor([1.2, 2.0], dtype=torch.float64)
        >>> metric_relative_error(bs_metric(r), r).abs().max() < 1e-14
        tensor(True)
    """
    Einv = torch.linalg.inv(bs_coframe(r, a))
    D = Einv.transpose(-1, -2) @ G @ Einv - torch.eye(7, dtype=G.dtype, device=G.device)
    return torch.linalg.matrix_norm(D) / math.sqrt(7)
