"""Galerkin with round eigenfunctions over whole groups: round, Berger, product and pulled-back metrics."""

import math

import numpy as np
import pytest

from labkit.g2_pinn.geometry import quat_mul
from labkit.g2_pinn.group_galerkin import circle_factor, product_galerkin, s3_factor, s3_quadrature


def _const(G):
    return lambda pts: np.broadcast_to(np.asarray(G, dtype=float), (len(pts[0]), *np.shape(G)))


def test_quadrature_integrates_polynomials_over_the_whole_sphere():
    q, w = s3_quadrature(9, 3)  # exact to degree 8
    assert w.sum() == pytest.approx(2 * math.pi ** 2, rel=1e-14)
    # int_{S^3} q0^2 q2^2 = 2 pi^2 / 24 ; int q0^4 = 2 pi^2 / 8 (moments of the uniform sphere in R^4)
    assert (w * q[:, 0] ** 2 * q[:, 2] ** 2).sum() == pytest.approx(2 * math.pi ** 2 / 24, rel=1e-13)
    assert (w * q[:, 0] ** 4).sum() == pytest.approx(2 * math.pi ** 2 / 8, rel=1e-13)
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0)


def test_round_s3_levels_and_multiplicities():
    lam = product_galerkin([s3_factor(3)], _const(np.eye(3)), 30)
    exact = np.repeat([0, 3, 8, 15], [1, 4, 9, 16])
    assert np.abs(lam - exact).max() < 1e-10


def test_berger_sphere_spectrum():
    # sigma1^2 + sigma2^2 + tau^2 sigma3^2: l(l+2) + (1/tau^2 - 1) k^2, k = -l, -l+2, .., l, each (l+1) times
    tau = 0.6
    lam = product_galerkin([s3_factor(4)], _const(np.diag([1, 1, tau ** 2])), 40)
    exact = sorted(l * (l + 2) + (tau ** -2 - 1) * k * k for l in range(5) for k in range(-l, l + 1, 2)
                   for _ in range(l + 1))
    assert np.abs(lam - np.array(exact[:40])).max() < 1e-9
    assert abs(lam[1] - 3) > 0.5  # squashing moved the first level: 3 -> 3 + (1/tau^2 - 1) = 4.78


def test_neck_product_spectrum():
    r0, r1, r2 = 1.0, 3.0, 2.0
    G = np.diag([r0 ** 2] + [r1 ** 2] * 3 + [r2 ** 2] * 3)
    lam = product_galerkin([circle_factor(1), s3_factor(1), s3_factor(1)], _const(G), 12)
    exact = sorted(k * k / r0 ** 2 + a * (a + 2) / r1 ** 2 + b * (b + 2) / r2 ** 2 for k in range(-1, 2)
                   for a in range(2) for b in range(2) for _ in range((a + 1) ** 2 * (b + 1) ** 2))
    assert np.abs(lam - np.array(exact[:12])).max() < 1e-12


def _pulled_back(eps):
    """The round metric pulled back by psi(q) = (q + eps w(q)) / |.|, in the Maurer-Cartan frame."""
    def w(q):
        return np.stack([q[:, 1] * q[:, 2], q[:, 0] ** 2, q[:, 3] * q[:, 0], q[:, 1] ** 2], 1)

    def dw(q, v):
        return np.stack([v[:, 1] * q[:, 2] + q[:, 1] * v[:, 2], 2 * q[:, 0] * v[:, 0],
                         v[:, 3] * q[:, 0] + q[:, 3] * v[:, 0], 2 * q[:, 1] * v[:, 1]], 1)

    def metric(pts):
        q = pts[0]
        p = q + eps * w(q)
        n = np.linalg.norm(p, axis=1, keepdims=True)
        psi = p / n
        cols = []
        for a in range(3):
            v = quat_mul(q, np.broadcast_to(np.eye(4)[a + 1], q.shape))
            dp = v + eps * dw(q, v)
            cols.append((dp - psi * (psi * dp).sum(1, keepdims=True)) / n)
        J = np.stack(cols, 1)
        return J @ J.transpose(0, 2, 1)
    return metric


def test_pulled_back_round_metric_converges_from_above_as_the_basis_grows():
    # isometric to the round S^3, so lambda_1 = 3 (x4), lambda_5 = 8 (x9); the basis is not adapted to it
    errs = []
    for L in (2, 4, 6):
        lam = product_galerkin([s3_factor(L, m=2 * L + 13, n_u=L // 2 + 6)], _pulled_back(0.3), 14)
        assert lam[1:5].min() > 3 - 1e-9 and lam[5:14].min() > 8 - 1e-9  # Rayleigh-Ritz: upper bounds
        errs.append(float((lam[1:5] - 3).max()))
    assert errs[0] > 1e-2 and errs[1] < errs[0] / 5 and errs[2] < errs[1] / 5 and errs[2] < 1e-3


def test_bad_quadrature_is_refused():
    with pytest.raises(ValueError, match="quadrature"):
        s3_factor(4, m=5)


def test_neck_spectrum_of_a_perturbed_network_is_nested_and_near_the_round_level():
    import torch

    from labkit.g2_pinn.model import G2PINN
    from labkit.g2_pinn.neck_spectrum import neck_spectrum

    torch.manual_seed(0)
    net = G2PINN(hidden=(6,), init_scale=0.3, radii=(3.0, 2.0))
    out = neck_spectrum(net, n_eig=6, bases=((1, 0), (1, 1)))
    lam = np.array(out["lambda"])
    assert abs(lam[0]) < 1e-12 and np.all(np.array(out["truncation"]) >= -1e-12)  # the larger basis is lower
    assert 0 < abs(lam[1] / (3 / 9) - 1) < 0.3 and out["first_level_split"] > 0  # perturbed: split, moved
    assert max(abs(v) for v in out["quadrature"][1:5]) < 1e-3 * lam[1]
