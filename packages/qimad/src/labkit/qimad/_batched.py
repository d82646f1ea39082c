"""Every agent's loss and gradient in one ``torch.func.vmap`` call, optionally replayed from a CUDA graph.

For small models the sequential closure path is launch-bound: each agent's forward and backward is a
few dozen tiny kernels, each paying Python and launch overhead. Vmapping ``grad_and_value`` over the
stacked agents turns k evaluations into one, and capturing that call in a CUDA graph turns its
hundreds of launches into a single replay.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from labkit.qimad._buffers import GroupBuffers

LossFn = Callable[[list[torch.Tensor]], torch.Tensor]


def evaluate_agents(buffers: list[GroupBuffers], loss_fn: LossFn, idx_t: torch.Tensor | None) -> torch.Tensor:
    """Write the gradients of agents ``idx_t`` (all agents if None) into the buffers; return their losses.

    ``loss_fn(params)`` takes one agent's parameters in optimizer order and returns a scalar; it runs
    under ``vmap(grad_and_value(loss_fn))``, so it must be vmap-compatible.
    """
    from torch.func import grad_and_value, vmap

    with torch.no_grad():
        stacked = [t for b in buffers for t in b.unflatten(b.theta if idx_t is None else b.theta.index_select(0, idx_t))]
    with torch.enable_grad():
        grads, loss = vmap(grad_and_value(loss_fn))(stacked)
    with torch.no_grad():
        k, j = loss.shape[0], 0
        for b in buffers:
            m = len(b.params)
            if m:
                flat = torch.cat([g.reshape(k, -1) for g in grads[j:j + m]], dim=1)
                b.grad.copy_(flat) if idx_t is None else b.grad.index_copy_(0, idx_t, flat.to(b.grad.dtype))
            j += m
        return loss.detach().reshape(-1)


class CapturedEvaluation:
    """``evaluate_agents`` for all agents, captured once in a CUDA graph and replayed each step.

    The graph reads the agents from the optimizer's (fixed) buffers and writes their gradients back
    there, so nothing is copied in or out. It also replays whatever inputs ``loss_fn`` captured: a
    new mini-batch must be copied *into* the same input tensors (``x.copy_(batch)``), not passed as
    new tensors, and ``loss_fn`` must not synchronise with the host.
    """

    def __init__(self, buffers: list[GroupBuffers], loss_fn: LossFn, warmup: int = 3) -> None:
        self.loss_fn = loss_fn  # held, so the cache key (its identity) stays valid
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up off the capture: lazy inits, autotuning, allocator
            for _ in range(warmup):
                evaluate_agents(buffers, loss_fn, None)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.loss = evaluate_agents(buffers, loss_fn, None)

    def __call__(self) -> torch.Tensor:
        """Replay the graph: fresh gradients in the buffers; returns the (static) loss tensor."""
        self.graph.replay()
        return self.loss
