"""QIMAD as a labkit optimizer factory: the one signature every ``labkit_optimizers`` entry shares.

``factory(params, *, lr, weight_decay=0.0, seed=None, total_steps=None)``; ``lr`` is QIMAD's
``eta``, ``total_steps`` sets the cooling schedule's length, and ``num_agents`` (QIMAD only) the
swarm size. QIMAD has no weight decay: a non-zero ``weight_decay`` is refused, not ignored.

Example:
    >>> import torch
    >>> opt = qimad_optimizer(torch.nn.Linear(2, 1).parameters(), lr=0.01, seed=0, total_steps=10, num_agents=3)
    >>> type(opt).__name__, opt.defaults["eta"]
    ('QIMADTorch', 0.01)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def qimad_optimizer(params: Iterable[Any], *, lr: float, weight_decay: float = 0.0, seed: int | None = None,
                    total_steps: int | None = None, num_agents: int = 4) -> Any:
    """``QIMADTorch(params, num_agents=num_agents, eta=lr, seed=seed, total_steps=total_steps)``."""
    from labkit.qimad._optimizer import QIMADTorch

    if weight_decay:
        raise ValueError(f"weight_decay: QIMAD has no weight decay; use 0 with optimizer 'qimad' (got {weight_decay})")
    return QIMADTorch(params, num_agents=num_agents, eta=lr, seed=seed, total_steps=total_steps)
