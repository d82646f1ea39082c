"""The optimizers core offers through the registry (``core:adamw``, ``core:adam``, ``core:sgd``).

Every optimizer factory, core's and plugins' (``labkit_optimizers``), follows one contract::

    factory(params, *, lr, weight_decay=0.0, seed=None, total_steps=None) -> torch.optim.Optimizer

``seed`` and ``total_steps`` are for optimizers that use them (QIMAD's swarm and cooling);
the torch ones here ignore them. Select one by name with ``ctx.resolve("optimizer", name)``.
torch is imported when a factory is called, never at import.

Example:
    >>> import torch
    >>> opt = adamw([torch.nn.Parameter(torch.zeros(2))], lr=0.1, seed=3)
    >>> type(opt).__name__, opt.defaults["lr"]
    ('AdamW', 0.1)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

BUILTIN_OPTIMIZERS = {name: f"labkit.core.optimizers:{name}" for name in ("adamw", "adam", "sgd")}
"""What core registers under ``labkit_optimizers`` as plugin ``core``."""


def adamw(params: Iterable[Any], *, lr: float, weight_decay: float = 0.0, seed: int | None = None,
          total_steps: int | None = None) -> Any:
    """``torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)``."""
    import torch

    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def adam(params: Iterable[Any], *, lr: float, weight_decay: float = 0.0, seed: int | None = None,
         total_steps: int | None = None) -> Any:
    """``torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)`` (L2 penalty, not decoupled)."""
    import torch

    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def sgd(params: Iterable[Any], *, lr: float, weight_decay: float = 0.0, seed: int | None = None,
        total_steps: int | None = None) -> Any:
    """``torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)``."""
    import torch

    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
