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
    """Agents, RMSProp accumulators, cached gradients and global-best weights of one param group."""

    params: list[torch.Tensor]
    theta: torch.Tensor  # (N, D) agent weights
    square_avg: torch.Tensor  # (N, D) RMSProp accumulators
    grad: torch.Tensor  # (N, D) cached gradients (last evaluation of each agent)
    best: torch.Tensor  # (D,) global best weights
    slices: list[tuple[int, int]] = field(default_factory=list)
    # per-agent lists of per-parameter views, built once: the closure path reads/writes them every step
    theta_views: list[list[torch.Tensor]] = field(default_factory=list)
    grad_views: list[list[torch.Tensor]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.theta.shape[0]
        self.theta_views = [self.agent_views(self.theta, i) for i in range(n)]
        self.grad_views = [self.agent_views(self.grad, i) for i in range(n)]

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
        theta = flat.unsqueeze(0).repeat(num_agents, 1)
    return GroupBuffers(
        params=list(params),
        theta=theta,
        square_avg=torch.zeros_like(theta),
        grad=torch.zeros_like(theta),
        best=flat.clone(),
        slices=slices,
    )
