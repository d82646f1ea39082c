"""The round neck chart: exponential-map Maurer-Cartan coframe, the warm start's metric, torsion and curvature.

Independent references: the Maurer-Cartan form by autograd of the quaternion exponential, the
metric by pulling back the Euclidean metric of the embedding in R^10, d phi_ref in closed form
from the structure equations d sigma^1 = -2 sigma^2 ^ sigma^3 (Lie algebra, no chart), and the
scalar curvature 6/r1^2 + 6/r2^2 of the round product.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labkit.g2_pinn.algebra import induced_metric, phi0
from labkit.g2_pinn.charts import FlatChart, RoundChart, exp_quaternion, log_quaternion, make_chart, maurer_cartan
from labkit.g2_pinn.curvature import curvature
from labkit.g2_pinn.forms import index_sets, pullback_form, wedge
from labkit.g2_pinn.geometry import quat_mul
from labkit.g2_pinn.losses import G2Loss
from labkit.g2_pinn.model import G2PINN
from labkit.g2_pinn.torsion import fd_exterior_derivative, torsion

F64 = torch.float64


def _points(chart, n=6, seed=0):
    return chart.sample(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("y", [[0.3, -1.1, 0.4], [1e-7, -2e-7, 5e-8], [2.9, 0.2, -0.1], [0.0, 0.0, 0.0]])
def test_maurer_cartan_closed_form_matches_autograd(y):
    y = torch.tensor(y, dtype=F64)
    J = torch.autograd.functional.jacobian(exp_quaternion, y)  # (4, 3): d q / d y^j
    q_conj = exp_quaternion(y) * torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=F64)
    mc = torch.stack([quat_mul(q_conj, J[:, j]) for j in range(3)], dim=1)  # q^-1 dq, column j
    assert float(mc[0].abs().max()) < 1e-15  # q^-1 dq is imaginary
    torch.testing.assert_close(maurer_cartan(y), mc[1:], rtol=0, atol=1e-13)


def test_log_inverts_exp_and_sampling_is_haar():
    chart = RoundChart((1.0, 1.0))
    x = _points(chart, 20000, seed=1)
    y = x[:, 1:4]
    torch.testing.assert_close(log_quaternion(exp_quaternion(y)), y, rtol=0, atol=1e-12)
    assert float(y.norm(dim=1).max()) <= chart.r_max
    # Haar on S^3: the quaternion's real part w = cos|y| has density (2/pi) sqrt(1 - w^2); E[w^2] = 1/4
    w = exp_quaternion(y)[:, 0]
    assert abs(float((w ** 2).mean()) - 0.25) < 0.01


def test_coframe_is_orthonormal_for_the_embedding_metric():
    chart = RoundChart((2.0, 3.0), r0=1.5)
    x = _points(chart, 8)
    J = torch.func.vmap(torch.func.jacfwd(chart.embed))(x)  # (n, 10, 7)
    torch.testing.assert_close(chart.reference_metric(x), J.transpose(-1, -2) @ J, rtol=1e-12, atol=1e-12)
    M = chart.ambient_metric(x, chart.reference_metric(x))
    torch.testing.assert_close(M, torch.eye(10, dtype=F64).expand_as(M), rtol=0, atol=1e-12)


@pytest.mark.parametrize("chart", ["round", "flat"])
def test_warm_start_induces_the_reference_metric(chart):
    net = G2PINN(hidden=(8,), init_scale=0.0, chart=chart, radii=(2.0, 3.0))
    x = _points(net.chart, 6)
    torch.testing.assert_close(induced_metric(net(x)), net.chart.reference_metric(x), rtol=1e-11, atol=1e-11)


def _closed_form_dphi_ref(r1: float, r2: float) -> torch.Tensor:
    """Frame components of d phi0(e) from d e^i = -(2/r) e^j ^ e^k (cyclic on each S^3), d e^0 = 0."""
    e = torch.eye(7, dtype=F64)
    de = [torch.zeros(21, dtype=F64)]
    for base, r in ((1, r1), (4, r2)):
        for j, k in ((1, 2), (2, 0), (0, 1)):
            de.append(-(2 / r) * wedge(e[base + j], e[base + k], 1, 1))
    total = torch.zeros(35, dtype=F64)
    for comp, (a, b, c) in zip(phi0().tolist(), index_sets(3), strict=True):
        if comp:
            total += comp * (wedge(wedge(de[a], e[b], 2, 1), e[c], 3, 1)
                             - wedge(wedge(e[a], de[b], 1, 2), e[c], 3, 1)
                             + wedge(wedge(e[a], e[b], 1, 1), de[c], 2, 2))
    return total


def test_round_warm_start_torsion_matches_the_structure_equations_and_is_not_zero():
    r1, r2 = 2.0, 3.0
    net = G2PINN(hidden=(8,), init_scale=0.0, chart="round", radii=(r1, r2))
    x = _points(net.chart, 5, seed=3)
    t = torsion(net, x)
    frame = pullback_form(t["dphi"], torch.linalg.inv(net.chart.coframe(x)), 4)
    want = _closed_form_dphi_ref(r1, r2)
    torch.testing.assert_close(frame, want.expand_as(frame), rtol=0, atol=1e-10)
    assert float(want.norm()) > 0.5  # of order 1/r: the round reference is far from torsion free
    assert float(t["dstar_sq"].detach().min()) > 1e-3
    fd = fd_exterior_derivative(lambda y: net(y).detach(), x, 3, h=1e-3)
    torch.testing.assert_close(t["dphi"].detach(), fd, rtol=0, atol=1e-8)
    # and the flat chart's warm start is exactly torsion free (the trap the round chart avoids)
    flat = G2PINN(hidden=(8,), init_scale=0.0, chart="flat")
    tf = torsion(flat, _points(flat.chart, 5))
    assert float(tf["dphi_sq"].detach().abs().max()) == 0.0 and float(tf["dstar_sq"].detach().abs().max()) < 1e-25


def test_round_warm_start_scalar_curvature_is_the_round_product_value():
    r1, r2 = 1.5, 2.5
    net = G2PINN(hidden=(8,), init_scale=0.0, chart="round", radii=(r1, r2))
    x = _points(net.chart, 4, seed=5)
    curv = curvature(lambda y: induced_metric(net(y), check=False), x, chunk=4)
    want = 6 / r1 ** 2 + 6 / r2 ** 2
    assert net.chart.reference_scalar_curvature == pytest.approx(want)
    np.testing.assert_allclose(curv["scalar"].numpy(), want, rtol=1e-8)
    # |Rm|^2 of a product of round S^3(r): 12/r^4 each
    np.testing.assert_allclose(curv["kretschmann"].numpy(), 12 / r1 ** 4 + 12 / r2 ** 4, rtol=1e-8)


def test_reference_spectra_closed_forms():
    lam = RoundChart((1.0, 2.0), r0=10.0).reference_spectrum(12)
    # S^1(10): k^2/100; S^3(1): l(l+2) (x (l+1)^2); S^3(2): m(m+2)/4 (x (m+1)^2)
    assert lam[0] == 0 and lam[1:3].tolist() == [0.01, 0.01] and lam[3:5].tolist() == [0.04, 0.04]
    assert lam[5:7].tolist() == [0.09, 0.09] and lam[7:9].tolist() == [0.16, 0.16] and lam[9:11].tolist() == [0.25, 0.25]
    flat = FlatChart().reference_spectrum(15)
    assert flat[0] == 0 and len(set(np.round(flat[1:7], 12))) == 1  # the 6 modes along the larger S^3 directions


def test_loss_is_chart_independent_at_the_warm_start():
    for chart in ("round", "flat"):
        net = G2PINN(hidden=(8,), init_scale=0.0, chart=chart)
        res, _ = G2Loss()(net, _points(net.chart, 4))
        for name in ("proxy_standard_form", "proxy_det", "proxy_normalisation"):
            assert float(res.components[name].detach()) < 1e-20, (chart, name)


def test_make_chart_refuses_unknown_names():
    with pytest.raises(ValueError, match="chart: unknown 'hyperbolic'"):
        make_chart("hyperbolic")
    with pytest.raises(ValueError, match="r_max"):
        RoundChart(r_max=math.pi)
