"""The agents' RMSProp arithmetic: torch.optim.RMSprop's op sequence, or the same formula in one fused kernel.

QIMAD's RMSProp step (decay 0.99, eps 1e-8) is Adam's with beta1 = 0 and both bias corrections
equal to 1: with beta1 = 0 Adam's first moment is the gradient itself, and at a step count of 2**40
the second correction 1 - 0.99**step is exactly 1 in floating point (0.99**(2**40) underflows to 0).
torch's fused Adam kernel therefore computes

    v <- 0.99 v + 0.01 g*g,    theta <- theta - lr * g / (sqrt(v) + eps)

in a single pass over memory instead of five (mul_, addcmul_, sqrt, add_, addcdiv_). The two
differ only in the rounding of the last operation (at most a unit in the last place); the first
moment buffer is the gradient buffer itself, which the kernel rewrites with the same values.
"""

from __future__ import annotations

import torch

RMS_ALPHA = 0.99  # RMSProp decay, fixed by the method
RMS_EPS = 1e-8
_NO_BIAS_CORRECTION_STEP = float(2**40)  # 1 - 0.99**step == 1.0 exactly, in float32 and float64
_unfused: set[tuple[str, torch.dtype]] = set()  # (device type, dtype) pairs torch has no fused kernel for
_step_counts: dict[torch.device, torch.Tensor] = {}  # the kernel only reads its step count: one per device


def rmsprop_exact_(theta: torch.Tensor, grad: torch.Tensor, square_avg: torch.Tensor, lr: float) -> None:
    """One RMSProp step in place, with exactly ``torch.optim.RMSprop``'s single-tensor arithmetic.

    >>> theta, g, v = torch.ones(3), torch.full((3,), 0.5), torch.zeros(3)
    >>> rmsprop_exact_(theta, g, v, lr=0.01)
    >>> theta
    tensor([0.9000, 0.9000, 0.9000])
    """
    square_avg.mul_(RMS_ALPHA).addcmul_(grad, grad, value=1 - RMS_ALPHA)
    theta.addcdiv_(grad, square_avg.sqrt().add_(RMS_EPS), value=-lr)


def rmsprop_fused_(theta: torch.Tensor, grad: torch.Tensor, square_avg: torch.Tensor, lr: float) -> None:
    """The same step in one fused pass (torch's fused Adam kernel), falling back to :func:`rmsprop_exact_`
    on a device or dtype that torch has no fused kernel for. Agrees with it to a unit in the last place.

    >>> theta, g, v = torch.ones(3), torch.full((3,), 0.5), torch.zeros(3)
    >>> rmsprop_fused_(theta, g, v, lr=0.01)
    >>> torch.allclose(theta, torch.full((3,), 0.9))
    True
    """
    key = (theta.device.type, theta.dtype)
    if key not in _unfused:
        step = _step_counts.get(theta.device)
        if step is None:
            step = _step_counts[theta.device] = torch.tensor(_NO_BIAS_CORRECTION_STEP, device=theta.device)
        try:
            torch._fused_adam_(
                [theta], [grad], [grad], [square_avg], [], [step], lr=lr, beta1=0.0, beta2=RMS_ALPHA,
                weight_decay=0.0, eps=RMS_EPS, amsgrad=False, maximize=False,
            )
            return
        except (AttributeError, NotImplementedError, RuntimeError):  # raised at dispatch, before any write
            _unfused.add(key)
    rmsprop_exact_(theta, grad, square_avg, lr)
