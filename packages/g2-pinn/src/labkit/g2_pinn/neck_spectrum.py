"""The Galerkin spectrum of a learned neck metric (round chart), with a truncation error bar.

The metric of a round-chart ``G2PINN`` is read straight from its global features (cos theta, sin theta,
q1, q2), so no chart and no cap is involved: in the coframe (d theta, sigma(q1), sigma(q2)) it is
D G_hat D, with G_hat the metric of the network's frame components and D = diag(r0, r1 I3, r2 I3).
``neck_spectrum`` runs ``product_galerkin`` at two basis sizes (circle |k| <= 1, H_{<=L1} x H_{<=L2}) and
reports both; their difference is the truncation error bar (Rayleigh-Ritz: the larger basis is lower).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from labkit.g2_pinn.algebra import induced_metric
from labkit.g2_pinn.galerkin import group_multiplicities
from labkit.g2_pinn.group_galerkin import circle_factor, product_galerkin, s3_factor

__all__ = ["neck_spectrum", "pinn_frame_metric"]

#: (L1, L2) of the two bases: the lambda_1 level is l1 = 1 on the larger S^3
BASES = ((1, 1), (2, 1))


def pinn_frame_metric(model: torch.nn.Module):
    """pts [theta (P, 1), q1 (P, 4), q2 (P, 4)] -> the model's metric (P, 7, 7) in (d theta, sigma(q1), sigma(q2))."""
    r0 = float(getattr(model.chart, "r0", 1.0))
    r1, r2 = model.chart.radii
    D = torch.diag(torch.tensor([r0, r1, r1, r1, r2, r2, r2], dtype=torch.float64))

    def metric(pts: list[np.ndarray]) -> np.ndarray:
        th, q1, q2 = (torch.as_tensor(p, dtype=torch.float64) for p in pts)
        feats = torch.cat([torch.cos(th), torch.sin(th), q1, q2], dim=-1)
        with torch.no_grad():
            G = induced_metric(model.phi_frame_ref + model.net(feats), check=False)
        return (D @ G @ D).numpy()
    return metric


def neck_spectrum(model: torch.nn.Module, n_eig: int = 6,
                  bases: tuple[tuple[int, int], tuple[int, int]] = BASES) -> dict[str, Any]:
    """lambda_0..n_eig-1 at the two basis sizes, the split of the first level, Vol and lambda_1 Vol^(2/7).

    ``bases`` gives (L1, L2) of the small and the large basis (circle |k| <= 1 in both).

    Example (the round reference: the 4-fold level 3/33^2 of the larger S^3, exactly):
        >>> from labkit.g2_pinn.model import G2PINN
        >>> net = G2PINN(hidden=(4,), init_scale=0.0)
        >>> out = neck_spectrum(net, n_eig=5, bases=((1, 0), (1, 1)))
        >>> round(out["lambda"][1] * 33 ** 2, 9), out["multiplicities"][1][1]
        (3.0, 4)
    """
    metric = pinn_frame_metric(model)

    def run(L1: int, L2: int, extra: int = 0) -> tuple[np.ndarray, float, int]:
        # one quadrature for both bases (that of the larger one), so the spaces are nested
        big1, big2 = bases[-1]
        factors = [circle_factor(1, n=6 + extra), s3_factor(L1, m=2 * big1 + 3 + extra, n_u=big1 // 2 + 2 + extra),
                   s3_factor(L2, m=2 * big2 + 3 + extra, n_u=big2 // 2 + 2 + extra)]
        lam, vol = product_galerkin(factors, metric, n_eig, return_volume=True)
        return lam, vol, int(np.prod([f.values.shape[1] for f in factors]))

    (lam_s, _, n_s), (lam, vol, n_b) = run(*bases[0]), run(*bases[-1])
    lam_q, _, _ = run(*bases[0], extra=2)  # the small basis on a finer rule: the quadrature error
    return {"lambda": lam.tolist(), "lambda_small_basis": lam_s.tolist(),
            "truncation": (lam_s - lam).tolist(), "quadrature": (lam_q - lam_s).tolist(),
            "basis_sizes": [n_s, n_b], "bases": [{"circle_K": 1, "L1": L1, "L2": L2} for L1, L2 in bases],
            "multiplicities": group_multiplicities(lam, rtol=1e-6),
            "first_level_split": float(lam[4] - lam[1]) if n_eig > 4 else None,
            "volume": vol, "lambda1_vol_2_7": float(lam[1] * vol ** (2 / 7))}
