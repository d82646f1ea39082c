"""Flat per-group agent buffers: one (num_agents, D) tensor per quantity, per-parameter views into it.

Keeping each param group's agents in one contiguous 2-D tensor makes every swarm update a handful
of whole-tensor kernels (vectorised over agents *and* parameters), while the per-parameter views
(num_agents, *shape) keep the familiar ``optimizer.state[p]`` layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass(eq=False)
class GroupBuffers:
    """Agents, RMSProp accumulators, cached gradients and global-best weights of one param group.

    The group's parameters become views into one flat ``live`` vector, as FSDP's flat parameters and
    apex's fused optimizers do, so loading an agent into the model is one copy; while an agent is
    evaluated, the parameters' ``.grad`` are views of that agent's row of ``grad``, so backward
    accumulates its gradient straight into place.
    """

    params: list[torch.Tensor]
    store: torch.Tensor  # (N + 1, D): the N agents' weights, then the global best (one matmul mixes them)
    square_avg: torch.Tensor  # (N, D) RMSProp accumulators
    grad: torch.Tensor  # (N, D) cached gradients (last evaluation of each agent)
    slices: list[tuple[int, int]] = field(default_factory=list)
    theta: torch.Tensor = field(init=False)  # (N, D) agent weights: a view of store[:N]
    best: torch.Tensor = field(init=False)  # (D,) global best weights: a view of store[N]
    live: torch.Tensor = field(init=False)  # (D,) what the model's parameters are views of
    live_views: list[torch.Tensor] = field(init=False)
    theta_rows: list[torch.Tensor] = field(init=False)  # theta[i], built once (the closure loop reads them)
    grad_views: list[list[torch.Tensor]] = field(init=False)  # agent i's per-parameter views of grad[i]

    def __post_init__(self) -> None:
        n = self.store.shape[0] - 1
        self.theta = self.store[:n]
        self.best = self.store[n]
        self.live = self.best.clone()
        self.live_views = self.agent_views(self.live[None], 0)
        self.theta_rows = list(self.theta.unbind(0))
        self.grad_views = [self.agent_views(self.grad, i) for i in range(n)]
        self.bind_params()

    def bind_params(self) -> None:
        """Make every parameter a view into ``live`` again (after a user rebinds ``p.data``, say)."""
        with torch.no_grad():
            for p, view in zip(self.params, self.live_views, strict=True):
                if p.data_ptr() == view.data_ptr() and p.shape == view.shape:
                    continue
                if p.device != view.device or p.dtype != view.dtype or p.shape != view.shape:
                    raise ValueError(
                        f"params: a parameter changed to {p.dtype} {tuple(p.shape)} on {p.device} after the "
                        f"optimizer was built ({view.dtype} {tuple(view.shape)} on {view.device}); "
                        "build the optimizer after moving the model")
                view.copy_(p)
                p.data = view

    def load_agent(self, i: int) -> None:
        """Load agent i's weights into the model and point the parameters' ``.grad`` at its gradient row."""
        self.live.copy_(self.theta_rows[i])
        self.attach_grads(i)

    def attach_grads(self, i: int) -> None:
        """Point every parameter's ``.grad`` at agent i's gradient row (backward then accumulates there)."""
        for p, view in zip(self.params, self.grad_views[i], strict=True):
            if p.grad is not view:
                p.grad = view

    def collect_grad(self, i: int) -> None:
        """Make sure agent i's row holds the gradient the closure computed (zeros for a parameter without one).

        Nothing to do unless the closure replaced ``.grad`` (``model.zero_grad()`` sets it to None, say).
        """
        views = self.grad_views[i]
        if all(p.grad is view for p, view in zip(self.params, views, strict=True)):
            return
        with torch.no_grad():  # a closure that backpropagated with create_graph leaves graph-carrying grads
            for p, row in zip(self.params, views, strict=True):
                row.copy_(p.grad) if p.grad is not None else row.zero_()
        self.attach_grads(i)

    @property
    def dim(self) -> int:
        """Number of scalar parameters in the group."""
        return self.theta.shape[1]

    def param_view(self, buf: torch.Tensor, j: int) -> torch.Tensor:
        """View (num_agents, *shape) of parameter j inside a (N, D) buffer (or (*shape) of a (D,) one)."""
        a, b = self.slices[j]
        shape = self.params[j].shape
        if buf.dim() == 1:
            return buf[a:b].view(shape)
        return buf[:, a:b].view(buf.shape[0], *shape)

    def agent_views(self, buf: torch.Tensor, i: int) -> list[torch.Tensor]:
        """Views of agent i's slice of a (N, D) buffer, one per parameter, shaped like the parameters."""
        return [buf[i, a:b].view(p.shape) for (a, b), p in zip(self.slices, self.params, strict=True)]

    def unflatten(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Split a (k, D) tensor into per-parameter (k, *shape) views."""
        return [flat[:, a:b].view(flat.shape[0], *p.shape) for (a, b), p in zip(self.slices, self.params, strict=True)]


def build_group(params: list[torch.Tensor], num_agents: int) -> GroupBuffers:
    """Allocate the buffers of one group, every agent and the global best starting at the current weights.

    >>> g = build_group([torch.ones(2, 3), torch.zeros(4)], num_agents=5)
    >>> tuple(g.theta.shape), g.param_view(g.theta, 0).shape
    ((5, 10), torch.Size([5, 2, 3]))
    """
    dtypes = {p.dtype for p in params}
    devices = {p.device for p in params}
    if len(dtypes) > 1 or len(devices) > 1:
        raise ValueError(
            "params: all parameters of one param group must share dtype and device "
            f"(got dtypes {sorted(map(str, dtypes))}, devices {sorted(map(str, devices))})"
        )
    for p in params:
        if not p.is_floating_point():
            raise ValueError(f"params: QIMAD needs floating-point parameters, got {p.dtype}")
        if p.is_sparse:
            raise ValueError("params: sparse parameters are not supported")
    slices, off = [], 0
    for p in params:
        slices.append((off, off + p.numel()))
        off += p.numel()
    dtype, device = params[0].dtype, params[0].device
    with torch.no_grad():
        flat = torch.cat([p.detach().reshape(-1) for p in params]) if params else torch.zeros(0)
        flat = flat.to(device=device, dtype=dtype)
        store = flat.unsqueeze(0).repeat(num_agents + 1, 1)
    return GroupBuffers(
        params=list(params),
        store=store,
        square_avg=torch.zeros_like(store[:num_agents]),
        grad=torch.zeros_like(store[:num_agents]),
        slices=slices,
    )
