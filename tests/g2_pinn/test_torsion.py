"""Torsion by autograd against closed forms and an independent finite-difference d."""

import math

import pytest
import torch

from labkit.g2_pinn.algebra import DegenerateMetricError, hodge_star, phi0
from labkit.g2_pinn.forms import wedge
from labkit.g2_pinn.losses import G2Loss
from labkit.g2_pinn.model import G2PINN
from labkit.g2_pinn.torsion import fd_exterior_derivative, torsion

P0 = phi0()


def test_constant_phi0_is_torsion_free():
    x = torch.rand(8, 7, dtype=torch.float64) * 2 * math.pi
    t = torsion(lambda y: P0.expand(len(y), 35) + 0 * y[:, :1], x)
    assert float(t["dphi"].abs().max()) == 0.0 and float(t["dstar"].abs().max()) == 0.0


def test_known_dphi_closed_form():
    # phi = phi0 + sin(x5) dx^{123}: d phi = cos(x5) dx^5 ^ dx^123 = -cos(x5) dx^{1235} (3 transpositions)
    def field(y):
        out = P0.expand(len(y), 35).clone()
        out[:, 0] = out[:, 0] + torch.sin(y[:, 4])
        return out

    x = torch.rand(6, 7, dtype=torch.float64) * 2 * math.pi
    from labkit.g2_pinn.forms import component_index
    k = component_index(4)[(0, 1, 2, 4)]
    t = torsion(field, x)
    ref = torch.zeros(6, 35, dtype=torch.float64)
    ref[:, k] = -torch.cos(x[:, 4])
    assert torch.allclose(t["dphi"], ref, atol=1e-14)


def test_conformal_phi_dphi_and_dstar():
    # phi = e^{3f} phi0: g = e^{2f} delta, d phi = 3 df ^ phi, *phi = e^{4f} *_0 phi0, d*phi = 4 df ^ *phi
    def f_and_df(y):
        f = 0.1 * torch.sin(y[:, 0]) + 0.05 * torch.cos(2 * y[:, 3])
        df = torch.zeros_like(y)
        df[:, 0] = 0.1 * torch.cos(y[:, 0])
        df[:, 3] = -0.1 * torch.sin(2 * y[:, 3])
        return f, df

    x = torch.rand(5, 7, dtype=torch.float64) * 2 * math.pi
    t = torsion(lambda y: torch.exp(3 * f_and_df(y)[0])[:, None] * P0, x)
    f, df = f_and_df(x)
    assert torch.allclose(t["dphi"], 3 * wedge(df, torch.exp(3 * f)[:, None] * P0, 1, 3), atol=1e-13)
    star0 = hodge_star(P0, torch.eye(7, dtype=torch.float64))
    assert torch.allclose(t["dstar"], 4 * wedge(df, torch.exp(4 * f)[:, None] * star0, 1, 4), atol=1e-13)
    assert float(t["dstar"].abs().max()) > 1e-3  # the check is not vacuous


def test_autograd_d_matches_finite_differences_on_network():
    torch.manual_seed(0)
    net = G2PINN(hidden=(16, 16), init_scale=0.5)
    x = net.chart.sample(6, torch.Generator().manual_seed(0))
    auto = torsion(net, x)["dphi"].detach()
    fd = fd_exterior_derivative(lambda y: net(y).detach(), x, 3)
    assert float(auto.abs().max()) > 1e-3
    torch.testing.assert_close(auto, fd, rtol=1e-8, atol=1e-8 * float(auto.abs().max()))


def test_ddphi_is_zero():
    torch.manual_seed(1)
    net = G2PINN(hidden=(8,), init_scale=0.5)
    x = net.chart.sample(3, torch.Generator().manual_seed(1))
    from labkit.g2_pinn.torsion import exterior_derivative, field_jacobian
    dphi, J = field_jacobian(lambda y: exterior_derivative(field_jacobian(net, y)[1], 3), x)
    scale = float(dphi.detach().abs().max())  # round chart components are O(r^3): compare relative to d phi itself
    assert scale > 1e-3 and float(exterior_derivative(J, 4).detach().abs().max()) < 1e-12 * scale


def test_loss_components_and_gradient():
    torch.manual_seed(2)
    net = G2PINN(hidden=(8, 8), init_scale=0.2)
    loss = G2Loss(weights={"proxy_smoothness": 0.5})
    res, _ = loss(net, net.chart.sample(5))
    assert set(res.components) == {"torsion_dphi", "torsion_dstar", "proxy_standard_form", "proxy_det",
                                   "proxy_normalisation", "proxy_smoothness"}
    expected = sum(v * (0.5 if k == "proxy_smoothness" else loss.weights[k]) for k, v in res.components.items())
    assert torch.allclose(res.total, expected)
    res.total.backward()
    assert all(p.grad is not None for p in net.parameters())
    with pytest.raises(ValueError, match="unknown"):
        G2Loss(weights={"torsion": 1.0})


def test_torsion_refuses_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 7\)"):
        torsion(lambda y: y, torch.zeros(3, 6, dtype=torch.float64))
    with pytest.raises(DegenerateMetricError) as err:
        torsion(lambda y: 0 * P0.expand(len(y), 35) + 0 * y[:, :1], torch.zeros(2, 7, dtype=torch.float64))
    assert err.value.points == [0, 1]
