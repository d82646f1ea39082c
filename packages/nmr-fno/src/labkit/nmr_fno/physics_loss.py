"""Physics-informed loss: MSE plus penalties that the simulator satisfies exactly and a network can break.

Channels are (Mx, My, I1z) on a grid starting at t = 0, with ρ(0) = Fx for the transverse pair
(normalised so Mx(0) = 1) and ρ(0) = I1z for the polarisation-transfer channel (normalised so
I1z(0) = 1). Exact identities used as penalties:

* ``initial``: Mx(0) = 1, My(0) = 0, I1z(0) = 1 (the initial density operators).
* ``bound``: Mx(t)² + My(t)² ≤ 1. For any direction θ, Mx cos θ + My sin θ = Tr(Aρ(t))/Tr(Fx²)
  with A = Fx cos θ + Fy sin θ; Cauchy–Schwarz and unitarity give |Tr(Aρ(t))| ≤ ‖A‖‖ρ(0)‖ = Tr(Fx²).
  The same argument bounds |I1z(t)| ≤ 1.
(Mx'(0) = 0 also holds, but only in the limit dt -> 0 on a grid, so it is not a penalty here.)

Each penalty is a mean over the batch; :func:`physics_informed_loss` combines them with core's
``combine_losses`` (weight 0.01 each by default) and returns every unweighted component for logging.

Example:
    >>> import torch
    >>> y = torch.zeros(1, 3, 5); y[:, 0, 0] = 1; y[:, 2, 0] = 1
    >>> float(physics_penalties(y)["initial"]), float(physics_penalties(y)["bound"])
    (0.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from labkit.core import LossResult, combine_losses

__all__ = ["DEFAULT_PHYSICS_WEIGHT", "INITIAL_VALUES", "physics_informed_loss", "physics_penalties"]

DEFAULT_PHYSICS_WEIGHT = 0.01
# (Mx, My, I1z) at t = 0 for rho(0) = Fx (transverse channels) and rho(0) = I1z (transfer channel)
INITIAL_VALUES = (1.0, 0.0, 1.0)


def _check(pred: torch.Tensor) -> None:
    if pred.ndim != 3 or pred.shape[1] != 3:
        raise ValueError(f"pred: expected shape (batch, 3 channels Mx/My/I1z, n_t), got {tuple(pred.shape)}")


def physics_penalties(pred: torch.Tensor, initial: tuple[float, float, float] = INITIAL_VALUES) -> dict[str, torch.Tensor]:
    """The penalty terms (each >= 0, exactly 0 for a true trajectory) for a (batch, 3, n_t) prediction.

    Example:
        >>> sorted(physics_penalties(torch.zeros(2, 3, 8)))
        ['bound', 'initial']
    """
    _check(pred)
    target0 = torch.tensor(initial, dtype=pred.dtype, device=pred.device)
    initial_pen = ((pred[:, :, 0] - target0) ** 2).sum(dim=1).mean()
    mx, my, iz = pred[:, 0], pred[:, 1], pred[:, 2]
    # squared hinge: zero inside the allowed set, smooth outside
    over_m = torch.relu(mx**2 + my**2 - 1.0)
    over_z = torch.relu(iz.abs() - 1.0)
    bound_pen = (over_m**2 + over_z**2).mean(dim=1).mean()
    return {"initial": initial_pen, "bound": bound_pen}


def physics_informed_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: float = DEFAULT_PHYSICS_WEIGHT,
    weights: Mapping[str, float] | None = None,
) -> LossResult:
    """MSE + weight * (initial + bound) via core's ``combine_losses``; components are unweighted.

    Example:
        >>> y = torch.zeros(1, 3, 6); y[:, 0, 0] = 1; y[:, 2, 0] = 1
        >>> res = physics_informed_loss(y, y)
        >>> float(res.total), sorted(res.components)
        (0.0, ['bound', 'initial', 'mse'])
    """
    _check(pred)
    if pred.shape != target.shape:
        raise ValueError(f"target: shape {tuple(target.shape)} does not match pred {tuple(pred.shape)}")
    if weight < 0:
        raise ValueError(f"weight: the physics weight must be >= 0, got {weight}")
    terms = {"mse": torch.mean((pred - target) ** 2), **physics_penalties(pred)}
    w = {"initial": weight, "bound": weight}
    w.update(weights or {})
    return combine_losses(terms, weights=w)
