"""The PINN: 7 periodic neck coordinates -> 35 components of the 3-form phi, warm-started at phi_ref."""

from __future__ import annotations

import torch
from torch import nn

from labkit.g2_pinn.algebra import scaled_phi0
from labkit.g2_pinn.geometry import reference_scales

__all__ = ["G2PINN", "ACTIVATIONS"]

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


class G2PINN(nn.Module):
    """MLP 7 -> hidden -> 35 giving phi(x) = phi_ref + MLP(sin x, cos x).

    The coordinates are periodic (the flat chart [0, 2pi)^7), so they enter through (sin, cos):
    the field is then genuinely periodic, which the Fourier-Galerkin spectrum relies on. phi_ref
    is phi0 in the orthonormal coframe of the flat reference metric (the warm start); the last
    layer is scaled by ``init_scale`` so training starts near, not exactly at, the warm start.

    Example:
        >>> net = G2PINN(hidden=(32, 32))
        >>> net(torch.zeros(5, 7, dtype=torch.float64)).shape
        torch.Size([5, 35])
    """

    def __init__(self, hidden: tuple[int, ...] | list[int] = (512, 512, 512, 256),
                 activation: str = "silu", init_scale: float = 0.1,
                 radii: tuple[float, float] = (33.0, 28.0), dtype: torch.dtype = torch.float64):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if not hidden or any(int(h) < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty list of positive widths, got {hidden!r}")
        layers: list[nn.Module] = []
        width = 14
        for h in hidden:
            layers += [nn.Linear(width, int(h), dtype=dtype), _Elementwise(activation)]
            width = int(h)
        last = nn.Linear(width, 35, dtype=dtype)
        with torch.no_grad():
            last.weight.mul_(init_scale)
            last.bias.mul_(init_scale)
        self.net = nn.Sequential(*layers, last)
        self.register_buffer("phi_ref", scaled_phi0(reference_scales(radii)).to(dtype))
        self.hidden = tuple(int(h) for h in hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """phi components (..., 35) at chart points x (..., 7)."""
        feats = torch.cat([torch.sin(x), torch.cos(x)], dim=-1)
        return self.phi_ref + self.net(feats)

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
