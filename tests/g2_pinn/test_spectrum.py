"""Diffusion-map and Fourier-Galerkin spectra against exact spectra of known manifolds."""

import math

import numpy as np
import pytest

from labkit.g2_pinn._run_spectrum import known_manifold
from labkit.g2_pinn.galerkin import galerkin_eigenvalues, group_multiplicities
from labkit.g2_pinn.geometry import sample_s3
from labkit.g2_pinn.spectrum import laplacian_eigenvalues


def test_s3_lambda1_is_3_times_4():
    lam = laplacian_eigenvalues(sample_s3(3000, np.random.default_rng(0)), 6)
    assert abs(lam[0]) < 1e-8
    assert np.all(np.abs(lam[1:5] / 3.0 - 1) < 0.05)
    assert lam[5] > 1.8 * lam[4]  # the 4-fold cluster is separated from l = 2 (lambda = 8)


def test_scaled_sphere_scales_like_one_over_r2():
    pts = sample_s3(3000, np.random.default_rng(0))
    a, b = laplacian_eigenvalues(pts, 5), laplacian_eigenvalues(2.0 * pts, 5)
    assert np.allclose(b[1:], a[1:] / 4, rtol=1e-6)  # the bandwidth rule is scale invariant


def test_flat_3_torus():
    pts, period, _exact = known_manifold("torus", 5000, np.random.default_rng(1), 8, torus_dim=3)
    lam = laplacian_eigenvalues(pts, 8, period=period)
    assert abs(lam[1:7].mean() - 1) < 0.05 and np.all(np.abs(lam[1:7] - 1) < 0.08)
    assert abs(lam[7] / lam[1:7].mean() - 2) < 0.2  # next level |k|^2 = 2


@pytest.mark.slow
def test_product_s1_x_s3():
    pts, _, exact = known_manifold("product", 5000, np.random.default_rng(2), 7, 1)
    lam = laplacian_eigenvalues(pts, 7)
    assert np.all(np.abs(lam[1:3] - 1) < 0.05) and np.all(np.abs(lam[3:7] / 3 - 1) < 0.06)
    assert exact[1:7].tolist() == [1, 1, 3, 3, 3, 3]


def test_metric_weighted_distances_equal_embedding():
    # a flat torus with metric diag(4, 1) in coordinates == the torus with periods (4 pi, 2 pi)
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 2 * math.pi, (2500, 2))
    g = np.broadcast_to(np.diag([4.0, 1.0]), (2500, 2, 2))
    lam = laplacian_eigenvalues(x, 4, g, period=2 * math.pi)
    assert np.all(np.abs(lam[1:3] / 0.25 - 1) < 0.06)  # k1 = +-1 along the long side


def test_gpu_path_on_cpu_matches_scipy():
    from labkit.g2_pinn._spectrum_gpu import gpu_eigenvalues

    pts = sample_s3(800, np.random.default_rng(4))
    lam = laplacian_eigenvalues(pts, 5, epsilon=0.2)
    lam_t, _ = gpu_eigenvalues(pts, None, 0.2, -0.2 * math.log(1e-7), 5, None, "cpu")
    assert np.allclose(lam, lam_t, rtol=1e-6, atol=1e-9)


def test_bad_points_refused():
    with pytest.raises(ValueError, match="points must be an"):
        laplacian_eigenvalues(np.zeros(5), 2)
    bad = np.random.default_rng(0).standard_normal((20, 3))
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"rows \[7\]"):
        laplacian_eigenvalues(bad, 2)
    with pytest.raises(ValueError, match="metric must have shape"):
        laplacian_eigenvalues(bad[:5] * 0 + 1, 2, np.eye(3))
    g = np.broadcast_to(np.eye(3), (20, 3, 3)).copy()
    g[4] *= -1
    with pytest.raises(ValueError, match=r"points \[4\]"):
        laplacian_eigenvalues(np.nan_to_num(bad), 2, g)
    with pytest.raises(ValueError, match="n must be"):
        laplacian_eigenvalues(np.nan_to_num(bad), 50)


def test_galerkin_flat_t7_multiplicities():
    lam = galerkin_eigenvalues(lambda x: np.broadcast_to(np.eye(7), (len(x), 7, 7)), 7, 99, K=2)
    assert group_multiplicities(lam) == [(pytest.approx(0, abs=1e-10), 1), (pytest.approx(1.0), 14),
                                         (pytest.approx(2.0), 84)]


def test_galerkin_circle_with_variable_metric():
    # (S^1, g(x) dx^2) is a circle of length L = int sqrt(g): lambda_k = (2 pi k / L)^2 exactly
    lam = galerkin_eigenvalues(lambda x: ((1.5 + 0.3 * np.cos(x[:, 0])) ** 2)[:, None, None], 1, 5, K=16, n_grid=64)
    assert np.allclose(lam, [0, 4 / 9, 4 / 9, 16 / 9, 16 / 9], atol=1e-9)


def test_galerkin_product_metric_sums():
    # g = diag(a(x1)^2, b(x2)^2): eigenvalues are sums of the two circles' (2 pi k / L)^2
    def metric(x):
        return np.stack([np.diag([(1.2 + 0.2 * np.sin(p[0])) ** 2, (0.8 + 0.1 * np.cos(p[1])) ** 2])
                                     for p in x])
    lam = galerkin_eigenvalues(metric, 2, 5, K=10, n_grid=32)
    l1, l2 = (1 / 1.2) ** 2, (1 / 0.8) ** 2
    assert np.allclose(lam, [0, l1, l1, l2, l2], atol=1e-7)
