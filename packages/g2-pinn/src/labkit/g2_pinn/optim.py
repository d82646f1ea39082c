"""One optimizer construction for g2-pinn's loops: a registry factory, plus the swarm size when it is QIMAD."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["build_optimizer"]


def build_optimizer(factory: Callable[..., Any], name: str, params: Iterable[Any], *, lr: float, weight_decay: float,
                    seed: int, total_steps: int, agents: int) -> Any:
    """``factory(params, lr=, weight_decay=, seed=, total_steps=)``; ``num_agents=agents`` only for ``qimad``.

    ``factory`` is ``ctx.resolve("optimizer", name)``: labkit's optimizer signature is shared by
    all registered optimizers; the swarm size is QIMAD's own option.

    Example:
        >>> import torch
        >>> from labkit.core.optimizers import adamw
        >>> opt = build_optimizer(adamw, "adamw", torch.nn.Linear(2, 1).parameters(), lr=0.1, weight_decay=0.0,
        ...                       seed=0, total_steps=10, agents=4)
        >>> type(opt).__name__
        'AdamW'
    """
    extra = {"num_agents": agents} if name == "qimad" else {}
    return factory(params, lr=lr, weight_decay=weight_decay, seed=seed, total_steps=total_steps, **extra)
