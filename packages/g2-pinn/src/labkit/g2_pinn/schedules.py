"""Learning-rate schedules of g2-pinn's training loops: cosine with linear warm-up, and plateau with a floor."""

from __future__ import annotations

import math

import torch

__all__ = ["PlateauSchedule", "cosine_warmup"]


def cosine_warmup(step: int, warmup: int, total: int) -> float:
    """LR factor: linear warm-up to 1 over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


class PlateauSchedule:
    """Linear warm-up to the peak LR, then ReduceLROnPlateau on the training loss, never below ``floor``.

    ``step(loss)`` once per training step. Works for any optimizer whose groups carry ``lr`` (QIMAD
    reads its eta from there).

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = PlateauSchedule(opt, warmup=0, factor=0.5, patience=2, floor=0.3)
        >>> for _ in range(12):
        ...     sched.step(1.0)          # no improvement: halve every 3 steps, stop at the floor
        >>> opt.param_groups[0]["lr"]
        0.3
    """

    def __init__(self, opt: torch.optim.Optimizer, warmup: int, factor: float, patience: int, floor: float):
        self.opt, self.warmup, self.count = opt, int(warmup), 0
        self.peak = [float(g["lr"]) for g in opt.param_groups]
        self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=factor,
                                                                  patience=patience, min_lr=floor)
        if self.warmup > 0:
            self._set(1 / self.warmup)

    def _set(self, fraction: float) -> None:
        for g, peak in zip(self.opt.param_groups, self.peak, strict=True):
            g["lr"] = peak * fraction

    def step(self, loss: float) -> None:
        """Advance one training step with that step's loss."""
        self.count += 1
        if self.count < self.warmup:
            self._set((self.count + 1) / self.warmup)
        elif self.count == self.warmup:
            self._set(1.0)
        else:
            self.plateau.step(loss)

    def state_dict(self) -> dict:
        return {"count": self.count, "peak": list(self.peak), "plateau": self.plateau.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.peak = int(state["count"]), list(state["peak"])
        self.plateau.load_state_dict(state["plateau"])
