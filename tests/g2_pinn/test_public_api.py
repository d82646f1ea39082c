"""The package's public API: every exported name resolves, and the import stays light."""

from __future__ import annotations

import numpy as np


def test_laplacian_eigenvalues_is_exported_and_finds_s3_gap():
    from labkit.g2_pinn import laplacian_eigenvalues, sample_s3

    lam = laplacian_eigenvalues(sample_s3(2000, np.random.default_rng(0)), 6)
    assert abs(lam[0]) < 1e-6
    np.testing.assert_allclose(lam[1:5], 3.0, rtol=0.1)
