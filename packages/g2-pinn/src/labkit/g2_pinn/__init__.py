"""labkit.g2_pinn: a G2 3-form PINN on the TCS neck, real torsion, curvature and Laplacian spectra.

Names load on first use, so ``import labkit.g2_pinn`` imports neither torch nor scipy.

Example:
    >>> import numpy as np
    >>> from labkit.g2_pinn import CONSTANTS, laplacian_eigenvalues, sample_s3
    >>> CONSTANTS.h_star
    99
    >>> lam = laplacian_eigenvalues(sample_s3(2000, np.random.default_rng(0)), 5)
    >>> bool(abs(lam[1] - 3.0) < 0.3)  # round unit S^3: lambda_1 = 3 with multiplicity 4
    True
"""

from __future__ import annotations

from labkit.core import lazy_exports

# name -> module holding it
_LAZY = {
    "CONSTANTS": ".constants",
    "G2Constants": ".constants",
    "phi0": ".algebra",
    "contraction_B": ".algebra",
    "contraction_metric": ".algebra",
    "bryant_B": ".algebra",
    "induced_metric": ".algebra",
    "hodge_star": ".algebra",
    "check_metric": ".algebra",
    "DegenerateMetricError": ".algebra",
    "exterior_derivative": ".torsion",
    "fd_exterior_derivative": ".torsion",
    "torsion": ".torsion",
    "curvature": ".curvature",
    "quat_mul": ".geometry",
    "sample_s3": ".geometry",
    "s3_geodesic_distance": ".geometry",
    "sample_neck": ".geometry",
    "neck_coordinates": ".geometry",
    "round_neck_metric": ".geometry",
    "flat_reference_metric": ".geometry",
    "eguchi_hanson_metric": ".geometry",
    "RoundChart": ".charts",
    "FlatChart": ".charts",
    "make_chart": ".charts",
    "G2PINN": ".model",
    "G2Loss": ".losses",
    "laplacian_eigenvalues": ".spectrum",
    "select_bandwidth": ".spectrum",
    "galerkin_eigenvalues": ".galerkin",
    "group_multiplicities": ".galerkin",
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY)
