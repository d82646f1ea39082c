"""G2 algebra: phi0, metrics from phi, Hodge star, forms, bad input."""

import dataclasses

import numpy as np
import pytest
import torch

from labkit.g2_pinn.algebra import (
    FANO_TRIPLES,
    DegenerateMetricError,
    bryant_B,
    contraction_B,
    contraction_metric,
    hodge_star,
    induced_metric,
    phi0,
    scaled_phi0,
)
from labkit.g2_pinn.constants import CONSTANTS
from labkit.g2_pinn.forms import compound, form_norm_sq, form_tensor, index_sets, tensor_components, wedge

EYE = torch.eye(7, dtype=torch.float64)


def test_constants():
    c = CONSTANTS
    assert (c.b2, c.b3, c.h_star, c.dim_g2, c.n_components) == (21, 77, 99, 14, 35)
    assert abs(c.lambda1_target * c.h_star - 13) < 1e-12
    assert float(c.det_g_target) == 65 / 32
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.dim = 8  # frozen


def test_phi0_contraction_gives_6_delta_and_target_det():
    assert torch.allclose(contraction_B(phi0()), 6 * EYE)
    g = contraction_metric(phi0())
    assert torch.allclose(g, g[0, 0] * EYE)
    assert abs(float(torch.linalg.det(g)) - 65 / 32) < 1e-12


def test_antisymmetry_and_roundtrip():
    c = torch.randn(4, 35, dtype=torch.float64)
    T = form_tensor(c, 3)
    assert torch.allclose(T, -T.transpose(-1, -2))
    assert torch.allclose(T, -T.transpose(-3, -2))
    assert torch.allclose(tensor_components(T, 3), c)
    assert len(index_sets(3)) == 35 and len(FANO_TRIPLES) == 7


def _random_rotation(seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((7, 7)))
    return torch.as_tensor(q * np.sign(np.linalg.det(q)))


def test_bryant_metric_is_pullback_metric():
    # phi = A^* phi0 has metric A^T A for any A in GL+(7): independent of both formulas' algebra
    A = torch.as_tensor(np.random.default_rng(1).standard_normal((7, 7))) + 3 * EYE
    if torch.linalg.det(A) < 0:
        A[0] *= -1
    T = form_tensor(phi0(), 3)
    pulled = torch.einsum("ia,jb,kc,ijk->abc", A, A, A, T)
    g = induced_metric(tensor_components(pulled, 3))
    assert torch.allclose(g, A.T @ A, atol=1e-10)


def test_contraction_equals_bryant_only_for_rotations():
    R = _random_rotation(3)
    rot = tensor_components(torch.einsum("ia,jb,kc,ijk->abc", R, R, R, form_tensor(phi0(), 3)), 3)
    assert torch.allclose(contraction_B(rot), 6 * EYE, atol=1e-12)
    s = torch.tensor([1.0, 1.3, 1.3, 1.3, 1.0, 1.0, 1.0], dtype=torch.float64)
    assert torch.allclose(induced_metric(scaled_phi0(s)), torch.diag(s ** 2))
    assert not torch.allclose(contraction_metric(scaled_phi0(s), det_target=float(s.prod() ** 2)), torch.diag(s ** 2))


def test_batch_and_gradients():
    phi = (phi0() + 0.05 * torch.randn(5, 3, 35, dtype=torch.float64)).requires_grad_()
    g = induced_metric(phi)
    assert g.shape == (5, 3, 7, 7)
    torch.autograd.grad(g.sum(), phi)
    assert torch.allclose(g[1, 2], induced_metric(phi[1, 2]))


def test_hodge_star_identities():
    g = torch.diag(torch.linspace(0.5, 2.0, 7, dtype=torch.float64))
    phi = scaled_phi0(torch.sqrt(torch.diagonal(g)))
    star = hodge_star(phi, g)
    vol = torch.sqrt(torch.linalg.det(g))
    # phi ^ *phi = |phi|^2 vol_g = 7 vol_g
    assert torch.allclose(wedge(phi, star, 3, 4)[0], 7 * vol)
    assert abs(float(form_norm_sq(phi, g, 3)) - 7) < 1e-12
    # ** = +1 on any form in odd dimension (Riemannian)
    a = torch.randn(35, dtype=torch.float64)
    assert torch.allclose(hodge_star(hodge_star(a, g, 3), g, 4), a)


def test_norm_formulas_match_compound():
    g = torch.randn(7, 7, dtype=torch.float64)
    g = g @ g.T + EYE
    for p in (2, 3, 4, 5):
        a = torch.randn(len(index_sets(p)), dtype=torch.float64)
        ref = a @ compound(torch.linalg.inv(g), p) @ a
        assert abs(float(form_norm_sq(a, g, p) - ref)) < 1e-9 * float(ref.abs())


def test_degenerate_phi_reported_with_points():
    phi = phi0().repeat(6, 1)
    phi[2] = 0.0
    phi[4, :] = 0.0
    phi[4, 0] = 1.0  # e^123 alone: degenerate
    with pytest.raises(DegenerateMetricError) as err:
        induced_metric(phi)
    assert err.value.points == [2, 4]
    assert "[2, 4]" in str(err.value)
    with pytest.raises(DegenerateMetricError):
        contraction_metric(phi)


def test_bryant_B_orientation():
    # with these Fano signs phi0 is positive for -dx^1..7: B = -delta, metric still delta
    assert torch.allclose(bryant_B(phi0()), -EYE)
    assert torch.allclose(induced_metric(phi0()), EYE)
