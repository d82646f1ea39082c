"""Build the functional, vmap-able loss that ``QIMADTorch.step_batched`` evaluates for all agents at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def functional_loss(
    model: torch.nn.Module,
    params: Sequence[torch.Tensor],
    loss_of_output: Callable[[Any], torch.Tensor],
    *inputs: Any,
) -> Callable[[list[torch.Tensor]], torch.Tensor]:
    """Return ``f(tensors) = loss_of_output(model(*inputs))`` with ``params`` replaced by ``tensors``.

    ``params`` fixes the order (pass ``opt.params_in_order()``); parameters of ``model`` that are not
    listed keep their own values. Uses ``torch.func.functional_call``, so ``f`` can be vmapped.

    >>> from labkit.qimad import QIMADTorch
    >>> model = torch.nn.Linear(4, 1); x, y = torch.randn(8, 4), torch.randn(8, 1)
    >>> opt = QIMADTorch(model.parameters(), num_agents=4, seed=0)
    >>> f = functional_loss(model, opt.params_in_order(), lambda out: ((out - y) ** 2).mean(), x)
    >>> float(opt.step_batched(f)) >= 0
    True
    """
    from torch.func import functional_call

    names = {id(p): name for name, p in model.named_parameters()}
    missing = [i for i, p in enumerate(params) if id(p) not in names]
    if missing:
        raise ValueError(f"params: entries {missing} are not parameters of the model")
    order = [names[id(p)] for p in params]

    def f(tensors: list[torch.Tensor]) -> torch.Tensor:
        return loss_of_output(functional_call(model, dict(zip(order, tensors, strict=True)), tuple(inputs)))

    return f
