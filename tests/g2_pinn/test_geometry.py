"""Quaternions, sampling, neck, reference metric, Eguchi-Hanson, curvature closed forms."""

import math

import numpy as np
import pytest
import torch

from labkit.g2_pinn.algebra import induced_metric, phi0
from labkit.g2_pinn.curvature import curvature
from labkit.g2_pinn.geometry import (
    eguchi_hanson_metric,
    flat_reference_metric,
    neck_coordinates,
    quat_mul,
    round_neck_metric,
    sample_neck,
    sample_s3,
)


def test_quaternions():
    rng = np.random.default_rng(0)
    p, q = sample_s3(50, rng), sample_s3(50, rng)
    pq = quat_mul(p, q)
    assert np.allclose(np.linalg.norm(pq, axis=1), 1.0)
    i, j = np.array([0, 1.0, 0, 0]), np.array([0, 0, 1.0, 0])
    assert np.allclose(quat_mul(i, j), [0, 0, 0, 1]) and np.allclose(quat_mul(j, i), [0, 0, 0, -1])
    assert torch.allclose(quat_mul(torch.as_tensor(p), torch.as_tensor(q)), torch.as_tensor(pq))


def test_s3_uniform_moments():
    x = sample_s3(200_000, np.random.default_rng(1))
    assert np.allclose(x.mean(0), 0, atol=5e-3)
    assert np.allclose((x ** 2).mean(0), 0.25, atol=3e-3)  # E[x_i^2] = 1/4 on S^3


def test_neck_points_and_coordinates():
    pts = sample_neck(100, np.random.default_rng(2))
    assert pts.shape == (100, 10)
    assert np.allclose(np.linalg.norm(pts[:, 2:6], axis=1), 33) and np.allclose(np.linalg.norm(pts[:, 6:], axis=1), 28)
    c = neck_coordinates(pts)
    assert c.shape == (100, 7)
    q = pts[:, 2:6] / 33  # Hopf coordinates reproduce the point
    rec = np.stack([np.cos(c[:, 1]) * np.cos(c[:, 2]), np.cos(c[:, 1]) * np.sin(c[:, 2]),
                    np.sin(c[:, 1]) * np.cos(c[:, 3]), np.sin(c[:, 1]) * np.sin(c[:, 3])], 1)
    assert np.allclose(rec, q)


def test_reference_metric_det():
    g = flat_reference_metric(3)
    assert torch.allclose(torch.linalg.det(g), torch.full((3,), 65 / 32, dtype=torch.float64))
    assert abs(float(g[0, 1, 1] / g[0, 4, 4]) - (33 / 28) ** 2) < 1e-12


def test_round_neck_scalar_curvature():
    x = torch.tensor([[0.3, 0.6, 1.0, 2.0, 0.9, 0.1, 4.0], [1.0, 1.1, 0.2, 0.3, 0.4, 2.0, 1.0]], dtype=torch.float64)
    c = curvature(lambda y: round_neck_metric(y), x)
    R = 6 / 33 ** 2 + 6 / 28 ** 2
    assert torch.allclose(c["scalar"], torch.full((2,), R, dtype=torch.float64), rtol=1e-10)
    assert torch.allclose(c["kretschmann"], torch.full((2,), 12 / 33 ** 4 + 12 / 28 ** 4, dtype=torch.float64))


def test_eguchi_hanson_closed_form():
    x = torch.as_tensor(np.random.default_rng(3).standard_normal((6, 4))) * 1.5
    x = x[(x ** 2).sum(1) > 1.2]
    g = eguchi_hanson_metric(x, a=1.0)
    assert torch.allclose(torch.linalg.det(g), torch.ones(len(x), dtype=torch.float64))
    c = curvature(lambda y: eguchi_hanson_metric(y, 1.0, check=False), x)
    r2 = (x ** 2).sum(1)
    assert float(c["ricci_sq"].abs().max()) < 1e-20           # Ricci flat (hyperkaehler)
    assert torch.allclose(c["kretschmann"], 384 / r2 ** 6, rtol=1e-9)  # |Rm|^2 = 384 a^8 / r^12
    with pytest.raises(ValueError, match="r = a"):
        eguchi_hanson_metric(torch.zeros(1, 4, dtype=torch.float64))


def test_curvature_of_conformal_metric_from_phi():
    # phi = e^{3f} phi0 induces g = e^{2f} delta: R = -e^{-2f} (12 Lap f + 30 |grad f|^2) in 7D
    def metric(y):
        f = 0.1 * torch.sin(y[0]) + 0.05 * torch.cos(y[1])
        return induced_metric(torch.exp(3 * f) * phi0(), check=False)

    x = torch.rand(4, 7, dtype=torch.float64) * 2 * math.pi
    f = 0.1 * torch.sin(x[:, 0]) + 0.05 * torch.cos(x[:, 1])
    lap = -0.1 * torch.sin(x[:, 0]) - 0.05 * torch.cos(x[:, 1])
    grad2 = (0.1 * torch.cos(x[:, 0])) ** 2 + (0.05 * torch.sin(x[:, 1])) ** 2
    assert torch.allclose(curvature(metric, x)["scalar"], -torch.exp(-2 * f) * (12 * lap + 30 * grad2), atol=1e-12)
