"""Loss of the G2 PINN: real torsion terms plus the original proxy terms, each logged by name.

Real terms (see ``labkit.g2_pinn.torsion``): ``torsion_dphi`` = mean |d phi|^2_g and
``torsion_dstar`` = mean |d *phi|^2_g, both zero exactly for a torsion-free G2 structure.
Proxy terms (kept from the original model, named as proxies because none of them is a G2
condition): ``proxy_standard_form`` = mean |phi - phi_ref|^2 (distance to the warm start),
``proxy_det`` = mean (det g - 65/32)^2, ``proxy_normalisation`` = mean |B/6 - 1|^2 with
B_ij = phi_ikl phi_jkl taken in the orthonormal frame of the reference metric, and
``proxy_smoothness`` = mean |d_m phi|^2 (coordinate gradient energy).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from labkit.core import LossResult, combine_losses
from labkit.g2_pinn.algebra import contraction_B
from labkit.g2_pinn.constants import CONSTANTS
from labkit.g2_pinn.forms import index_sets
from labkit.g2_pinn.torsion import torsion

__all__ = ["G2Loss", "DEFAULT_WEIGHTS"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "torsion_dphi": 1.0, "torsion_dstar": 1.0, "proxy_standard_form": 0.0,
    "proxy_det": 1.0, "proxy_normalisation": 0.1, "proxy_smoothness": 0.0,
}


class G2Loss:
    """Callable loss(model, x) -> (LossResult, torsion dict) combining the named terms.

    Example:
        >>> from labkit.g2_pinn.model import G2PINN
        >>> res, _ = G2Loss()(G2PINN(hidden=(8,)), torch.rand(4, 7, dtype=torch.float64))
        >>> sorted(res.components)[:2]
        ['proxy_det', 'proxy_normalisation']
    """

    def __init__(self, scales: torch.Tensor, weights: Mapping[str, float] | None = None,
                 det_target: float = float(CONSTANTS.det_g_target)):
        w = dict(DEFAULT_WEIGHTS)
        for k, v in (weights or {}).items():
            if k not in w:
                raise ValueError(f"loss weight {k!r} unknown; allowed: {sorted(w)}")
            w[k] = float(v)
        self.weights = w
        self.det_target = det_target
        sets = torch.as_tensor(index_sets(3))
        self._frame = scales[sets].prod(-1)  # phi components in the reference orthonormal frame

    def __call__(self, model: torch.nn.Module, x: torch.Tensor) -> tuple[LossResult, dict[str, torch.Tensor]]:
        t = torsion(model, x)
        phi, g = t["phi"], t["metric"]
        ref = getattr(model, "phi_ref", torch.zeros_like(phi[0]))
        eye = torch.eye(7, dtype=phi.dtype, device=phi.device)
        B_frame = contraction_B(phi / self._frame.to(phi.device))
        terms = {
            "torsion_dphi": t["dphi_sq"].mean(),
            "torsion_dstar": t["dstar_sq"].mean(),
            "proxy_standard_form": ((phi - ref) ** 2).sum(-1).mean(),
            "proxy_det": ((torch.linalg.det(g) - self.det_target) ** 2).mean(),
            "proxy_normalisation": ((B_frame / 6.0 - eye) ** 2).sum((-1, -2)).mean(),
            "proxy_smoothness": (t["jac"] ** 2).sum((-1, -2)).mean(),
        }
        weights = {k: v for k, v in self.weights.items() if v != 1.0}
        return combine_losses(terms, weights=weights), t
