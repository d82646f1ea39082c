"""The PINN: neck coordinates -> the 35 components of a 3-form phi, warm-started at phi_ref = phi0(coframe)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from labkit.g2_pinn.algebra import induced_metric, phi0
from labkit.g2_pinn.charts import Chart, make_chart
from labkit.g2_pinn.constants import CONSTANTS
from labkit.g2_pinn.forms import pullback_form

__all__ = ["ACTIVATIONS", "G2PINN"]


class _Elementwise(nn.Module):
    """Activation written with primitive ops: torch's fused SiLU/GELU kernels lack the
    forward-over-forward AD that the curvature (second derivatives by jacfwd) needs."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "silu":
            return x * torch.sigmoid(x)
        if self.kind == "gelu":
            return 0.5 * x * (1.0 + torch.erf(x / 2 ** 0.5))
        if self.kind == "softplus":
            return torch.logaddexp(x, torch.zeros_like(x))
        return torch.tanh(x)


ACTIVATIONS = ("silu", "tanh", "gelu", "softplus")


def small_mlp(width_in: int, hidden: Sequence[int], width_out: int, activation: str, init_scale: float,
              dtype: torch.dtype) -> nn.Sequential:
    """Linear + activation layers, then a last linear layer scaled by ``init_scale`` (the net starts near zero)."""
    layers: list[nn.Module] = []
    width = width_in
    for h in hidden:
        layers += [nn.Linear(width, int(h), dtype=dtype), _Elementwise(activation)]
        width = int(h)
    last = nn.Linear(width, width_out, dtype=dtype)
    with torch.no_grad():
        last.weight.mul_(init_scale)
        last.bias.mul_(init_scale)
    return nn.Sequential(*layers, last)


class G2PINN(nn.Module):
    """phi = F^*(phi0 + MLP(features(x))): the network corrects phi0 in the reference's orthonormal coframe.

    The chart (``'round'``, the default, or ``'flat'``; see ``labkit.g2_pinn.charts``) supplies the
    input features -- smooth functions on the whole neck, so the field is global -- and the coframe
    F that carries frame components to the coordinate components the torsion is computed from.
    The last layer is scaled by ``init_scale`` so training starts near, not exactly at, the warm
    start phi_ref = F^* phi0, whose metric is the chart's reference metric.

    Example:
        >>> net = G2PINN(hidden=(32, 32))
        >>> net(net.chart.sample(5)).shape
        torch.Size([5, 35])
    """

    phi_frame_ref: torch.Tensor

    def __init__(self, hidden: tuple[int, ...] | list[int] = (512, 512, 512, 256),
                 activation: str = "silu", init_scale: float = 0.1, chart: str | Chart = "round",
                 radii: tuple[float, float] = CONSTANTS.neck_radii, dtype: torch.dtype = torch.float64,
                 r0: float = 1.0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if not hidden or any(int(h) < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty list of positive widths, got {hidden!r}")
        self.chart = make_chart(chart, radii, r0)
        self.net = small_mlp(self.chart.n_features, hidden, 35, activation, init_scale, dtype)
        self.register_buffer("phi_frame_ref", phi0(dtype))
        self.hidden = tuple(int(h) for h in hidden)
        #: the keyword arguments that rebuild this network (the artifact's config)
        self.config = {"hidden": list(self.hidden), "activation": activation, "init_scale": float(init_scale),
                       "chart": self.chart.name, "radii": list(self.chart.radii),
                       "r0": float(getattr(self.chart, "r0", 1.0))}

    def metric(self, x: torch.Tensor) -> torch.Tensor:
        """The metric (..., 7, 7) that phi induces, in chart coordinates, at chart points x (..., 7)."""
        return induced_metric(self(x), check=False)

    def frame_components(self, x: torch.Tensor) -> torch.Tensor:
        """phi's components (..., 35) in the reference's orthonormal coframe (phi0 at the warm start)."""
        return self.phi_frame_ref + self.net(self.chart.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """phi's coordinate components (..., 35) at chart points x (..., 7)."""
        return pullback_form(self.frame_components(x), self.chart.coframe(x), 3)

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
