"""Loss of the G2 PINN: real torsion terms plus the original proxy terms, each logged by name.

Real terms (see ``labkit.g2_pinn.torsion``): ``torsion_dphi`` = mean |d phi|^2_g and
``torsion_dstar`` = mean |d *phi|^2_g, both zero exactly for a torsion-free G2 structure.
Proxy terms (kept from the original model, named as proxies because none of them is a G2
condition), all taken in the reference's orthonormal coframe so they do not depend on the chart:
``proxy_standard_form`` = mean |phi - phi0|^2 (distance to the warm start),
``proxy_det`` = mean (det g - 65/32)^2 with det g measured in that coframe and scaled so the
reference has 65/32 (on the flat chart this is the coordinate determinant),
``proxy_normalisation`` = mean |B/6 - 1|^2 with B_ij = phi_ikl phi_jkl, and
``proxy_smoothness`` = mean |d_m phi|^2 (coordinate gradient energy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch

from labkit.core import LossResult, combine_losses
from labkit.g2_pinn.algebra import contraction_B
from labkit.g2_pinn.constants import CONSTANTS
from labkit.g2_pinn.torsion import torsion

if TYPE_CHECKING:  # pragma: no cover
    from labkit.g2_pinn.model import G2PINN

__all__ = ["DEFAULT_WEIGHTS", "G2Loss", "frame_det"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "torsion_dphi": 1.0, "torsion_dstar": 1.0, "proxy_standard_form": 0.0,
    "proxy_det": 1.0, "proxy_normalisation": 0.1, "proxy_smoothness": 0.0,
}


def frame_det(g: torch.Tensor, coframe: torch.Tensor, det_target: float = float(CONSTANTS.det_g_target)) -> torch.Tensor:
    """det g in the reference's orthonormal coframe, times ``det_target``: chart independent, and
    equal to the coordinate det g on the flat chart (whose reference has det 65/32 there)."""
    return det_target * torch.linalg.det(g) / torch.linalg.det(coframe) ** 2


class G2Loss:
    """Callable loss(model, x) -> (LossResult, torsion dict) combining the named terms.

    Example:
        >>> from labkit.g2_pinn.model import G2PINN
        >>> net = G2PINN(hidden=(8,))
        >>> res, _ = G2Loss()(net, net.chart.sample(4))
        >>> sorted(res.components)[:2]
        ['proxy_det', 'proxy_normalisation']
    """

    def __init__(self, weights: Mapping[str, float] | None = None, det_target: float = float(CONSTANTS.det_g_target)):
        w = dict(DEFAULT_WEIGHTS)
        for k, v in (weights or {}).items():
            if k not in w:
                raise ValueError(f"loss weight {k!r} unknown; allowed: {sorted(w)}")
            w[k] = float(v)
        self.weights = w
        self.det_target = det_target

    def __call__(self, model: G2PINN, x: torch.Tensor) -> tuple[LossResult, dict[str, torch.Tensor]]:
        t = torsion(model, x)
        frame = model.frame_components(x)
        eye = torch.eye(7, dtype=frame.dtype, device=frame.device)
        det = frame_det(t["metric"], model.chart.coframe(x), self.det_target)
        terms = {
            "torsion_dphi": t["dphi_sq"].mean(),
            "torsion_dstar": t["dstar_sq"].mean(),
            "proxy_standard_form": ((frame - model.phi_frame_ref) ** 2).sum(-1).mean(),
            "proxy_det": ((det - self.det_target) ** 2).mean(),
            "proxy_normalisation": ((contraction_B(frame) / 6.0 - eye) ** 2).sum((-1, -2)).mean(),
            "proxy_smoothness": (t["jac"] ** 2).sum((-1, -2)).mean(),
        }
        weights = {k: v for k, v in self.weights.items() if v != 1.0}
        return combine_losses(terms, weights=weights), t
