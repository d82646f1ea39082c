"""The package's public API: every exported name resolves, and the import stays light."""

from __future__ import annotations

import subprocess
import sys

import numpy as np


def test_every_exported_name_resolves():
    import labkit.g2_pinn as g2

    assert len(g2.__all__) > 20
    for name in g2.__all__:
        assert getattr(g2, name) is not None, name


def test_import_loads_no_torch():
    code = "import sys, labkit.g2_pinn; print('torch' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_laplacian_eigenvalues_is_exported_and_finds_s3_gap():
    from labkit.g2_pinn import laplacian_eigenvalues, sample_s3

    lam = laplacian_eigenvalues(sample_s3(2000, np.random.default_rng(0)), 6)
    assert abs(lam[0]) < 1e-6
    np.testing.assert_allclose(lam[1:5], 3.0, rtol=0.1)
