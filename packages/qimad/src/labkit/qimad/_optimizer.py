"""QIMADTorch: quantum-inspired multi-agent descent as a vectorised, resumable ``torch.optim`` optimizer."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from labkit.qimad import _state
from labkit.qimad._buffers import GroupBuffers, build_group
from labkit.qimad._swarm import COOLINGS, TOPOLOGIES, fidelity_weights, neighbour_graph, temperature

_RMS_ALPHA = 0.99  # RMSProp decay, fixed by the method
_RMS_EPS = 1e-8
_ATTRACT = 0.2  # pull towards the global best: 0.2 * U(0,1) * (best - theta)
_STAGNATION = 3  # tunnelling is allowed once an agent has not improved for more than this many evaluations


class QIMADTorch(Optimizer):
    """Quantum-inspired multi-agent descent: a swarm of RMSProp agents coupled by Bloch-state fidelities.

    Every agent is a full copy of the weights (stacked as (num_agents, *shape) per parameter).
    ``step(closure)`` evaluates ``k_eval`` agents round-robin (one closure call each), updates the
    global and personal bests, random-walks every agent's Bloch state, and moves each evaluated agent by
    an RMSProp step, a pull towards the global best, a fidelity-weighted consensus pull towards its
    neighbours and, when it stagnates, a temperature-scaled tunnelling jump. Afterwards the model holds
    the best weights found and ``step`` returns their loss. With one agent it is exactly
    ``torch.optim.RMSprop(lr=eta, alpha=0.99, eps=1e-8)`` on the agent's weights.

    >>> model = torch.nn.Linear(3, 1)
    >>> x, y = torch.randn(16, 3), torch.randn(16, 1)
    >>> opt = QIMADTorch(model.parameters(), num_agents=4, eta=0.05, seed=0, total_steps=10)
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = torch.nn.functional.mse_loss(model(x), y)
    ...     loss.backward()
    ...     return loss
    >>> best = [float(opt.step(closure)) for _ in range(10)]
    >>> best == sorted(best, reverse=True)
    True
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        num_agents: int = 8,
        eta: float = 0.05,
        gamma: float = 0.05,
        k: float = 2,
        alpha_lr: float = 0.03,
        beta_lr: float = 0.03,
        topology: str = "complete",
        k_eval: int | None = None,
        seed: int | None = None,
        cooling: str | None = "cosine",
        total_steps: int | None = None,
        min_temp: float = 0.05,
    ) -> None:
        _state.validate_config(
            num_agents=num_agents, gamma=gamma, k=k, alpha_lr=alpha_lr, beta_lr=beta_lr,
            topology=topology, k_eval=k_eval, cooling=cooling, total_steps=total_steps,
            min_temp=min_temp, seed=seed,
        )
        _state.check_rate("eta", eta)
        self.num_agents = int(num_agents)
        self.gamma, self.k = float(gamma), float(k)
        self.alpha_lr, self.beta_lr = float(alpha_lr), float(beta_lr)
        self.topology = topology
        self.k_eval = self.num_agents if k_eval is None else int(k_eval)
        self.cooling = "none" if cooling is None else cooling
        self.total_steps, self.min_temp = total_steps, float(min_temp)
        self._buffers: list[GroupBuffers] = []
        self._ready = False
        super().__init__(params, {"eta": eta, "lr": eta})
        device = self._buffers[0].theta.device
        if any(b.theta.device != device for b in self._buffers):
            raise ValueError("params: all parameters must live on one device")
        if seed is None:  # follow the global torch seed, so seed_everything() makes runs repeatable
            seed = int(torch.randint(0, 2**62, (1,)).item())
        self.seed = int(seed)
        self._gen = torch.Generator(device=device).manual_seed(self.seed)
        n = self.num_agents
        f64: dict[str, Any] = {"device": device, "dtype": torch.float64}
        self._adjacency = neighbour_graph(self.topology, n, self._gen, device)
        self._alpha = torch.rand(n, generator=self._gen, **f64) * math.pi
        self._beta = torch.rand(n, generator=self._gen, **f64) * (2 * math.pi)
        self._loss = torch.full((n,), math.inf, **f64)  # cached loss of each agent's last evaluation
        self._pbest = torch.full((n,), math.inf, **f64)
        self._stagnation = torch.zeros(n, dtype=torch.int64, device=device)
        self._best_loss = torch.tensor(math.inf, **f64)
        self._step_count, self._pointer = 0, 0
        self._tracking, self._log = False, _state.empty_log()
        self._ready = True

    # ------------------------------------------------------------------ param groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (its own ``eta``/``lr`` allowed); its agents start at the group's current weights."""
        if "eta" in param_group and "lr" in param_group and param_group["eta"] != param_group["lr"]:
            raise ValueError("eta: a param group gave both eta and lr with different values (lr is an alias)")
        if "lr" in param_group:
            param_group["eta"] = param_group["lr"]
        elif "eta" in param_group:
            param_group["lr"] = param_group["eta"]
        _state.check_rate("eta", param_group.get("eta", self.defaults.get("eta", 0.0)))
        super().add_param_group(param_group)
        buf = build_group(self.param_groups[-1]["params"], self.num_agents)
        self._buffers.append(buf)
        for j, p in enumerate(buf.params):  # per-parameter views, the familiar optimizer.state[p] layout
            self.state[p] = {"agents": buf.param_view(buf.theta, j), "square_avg": buf.param_view(buf.square_avg, j),
                             "grad": buf.param_view(buf.grad, j), "best": buf.param_view(buf.best, j)}

    def _eta(self, group: dict[str, Any]) -> float:
        # lr is what schedulers write; eta mirrors it so either spelling reads the live value
        group["eta"] = group["lr"]
        return float(group["lr"])

    # ------------------------------------------------------------------ evaluation
    def _next_indices(self) -> tuple[list[int], torch.Tensor]:
        n, k = self.num_agents, self.k_eval
        idx = [(self._pointer + j) % n for j in range(k)]
        self._pointer = (self._pointer + k) % n
        return idx, torch.tensor(idx, device=self._alpha.device)

    def _load_agent(self, i: int) -> None:
        for b in self._buffers:
            torch._foreach_copy_(b.params, b.theta_views[i])

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> torch.Tensor:  # type: ignore[override]
        """Evaluate ``k_eval`` agents with ``closure`` (which must recompute loss and gradients), move the swarm.

        The closure is called once per evaluated agent with that agent's weights loaded into the
        parameters (gradients are zeroed before each call). Returns the global best loss (0-d tensor).
        """
        if closure is None:
            raise ValueError("closure: QIMADTorch.step(closure) needs a closure that returns the loss "
                             "after calling backward() (it evaluates several agents per step)")
        idx, idx_t = self._next_indices()
        losses = []
        for i in idx:
            self._load_agent(i)
            for b in self._buffers:  # each agent's gradient starts from nothing (cheaper than zeroing)
                for p in b.params:
                    p.grad = None
            with torch.enable_grad():
                loss = closure()
            losses.append(torch.as_tensor(loss).detach().reshape(()))
            for b in self._buffers:
                views, grads = b.grad_views[i], [p.grad for p in b.params]
                if all(g is not None for g in grads):
                    torch._foreach_copy_(views, [g for g in grads if g is not None])
                else:  # a parameter the loss does not touch has no gradient: treated as zero
                    for v, g in zip(views, grads, strict=True):
                        v.copy_(g) if g is not None else v.zero_()
        loss_t = torch.stack(losses).to(device=self._alpha.device, dtype=torch.float64)
        return self._advance(idx, idx_t, loss_t)

    def step_batched(self, loss_fn: Callable[[list[torch.Tensor]], torch.Tensor]) -> torch.Tensor:
        """Like ``step`` but evaluates all ``k_eval`` agents in one vmapped call of a functional loss.

        ``loss_fn(params)`` takes the parameters as a list in this optimizer's order (see
        ``functional_loss``) and returns a scalar loss; it is run under ``torch.func.vmap`` of
        ``torch.func.grad_and_value``, so it must be vmap-compatible (no in-place buffer updates).
        """
        from torch.func import grad_and_value, vmap

        idx, idx_t = self._next_indices()
        full = len(idx) == self.num_agents
        with torch.no_grad():
            stacked = []
            for b in self._buffers:
                stacked.extend(b.unflatten(b.theta if full else b.theta.index_select(0, idx_t)))
        with torch.enable_grad():
            grads, loss = vmap(grad_and_value(loss_fn))(stacked)
        with torch.no_grad():
            j = 0
            for b in self._buffers:
                m = len(b.params)
                flat = torch.cat([g.reshape(len(idx), -1) for g in grads[j:j + m]], dim=1) if m else None
                j += m
                if flat is not None:
                    b.grad.copy_(flat) if full else b.grad.index_copy_(0, idx_t, flat.to(b.grad.dtype))
            loss_t = loss.detach().reshape(-1).to(device=self._alpha.device, dtype=torch.float64)
            return self._advance(idx, idx_t, loss_t)

    # ------------------------------------------------------------------ the dynamics
    @torch.no_grad()
    def _advance(self, idx: list[int], idx_t: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        n, full, gen = self.num_agents, len(idx) == self.num_agents, self._gen
        if full:  # every agent evaluated in order 0..n-1: plain slices are views, cheaper than gathers
            idx_t = slice(None)  # type: ignore[assignment]
        sel = (lambda t: t) if full else (lambda t: t.index_select(0, idx_t))
        thetas = [sel(b.theta) for b in self._buffers]  # snapshot of the evaluated agents (views if full)
        grads = [sel(b.grad) for b in self._buffers]
        valid = torch.isfinite(losses)
        for g in grads:
            valid &= torch.isfinite(g).all(dim=1)
        safe = torch.where(valid, losses, torch.full_like(losses, math.inf))
        # global best: a non-finite evaluation can never win (its loss is +inf here)
        cand, j = safe.min(dim=0)
        improved = cand < self._best_loss
        for b, th in zip(self._buffers, thetas, strict=True):
            b.best.copy_(torch.where(improved, th[j], b.best))
        self._best_loss = torch.where(improved, cand, self._best_loss)
        better = safe < self._pbest[idx_t]
        self._pbest[idx_t] = torch.where(better, safe, self._pbest[idx_t])
        stag = torch.where(better, torch.zeros_like(self._stagnation[idx_t]), self._stagnation[idx_t] + 1)
        self._loss[idx_t] = losses
        # every agent's Bloch state random-walks at temperature-scaled speeds
        temp = temperature(self.cooling, self._step_count, self.total_steps, self.min_temp)
        self._alpha = (self._alpha + self.alpha_lr * temp * torch.randn(n, generator=gen, **_like(self._alpha))
                       ).clamp_(0.0, math.pi)
        self._beta = torch.remainder(
            self._beta + self.beta_lr * temp * torch.randn(n, generator=gen, **_like(self._beta)), 2 * math.pi)
        swarm = n > 1
        tunnel_rows: list[int] = []
        if swarm:
            w = fidelity_weights(self._alpha, self._beta, self._adjacency, self.k)[idx_t]
            has_nb = self._adjacency[idx_t].any(dim=1)
            r = torch.rand(len(idx), generator=gen, **_like(self._alpha)) * has_nb
            u = torch.rand(len(idx), generator=gen, **_like(self._alpha))
            tunnel = (stag > _STAGNATION) & (u < torch.sin(self._alpha[idx_t] / 2) ** 2) & has_nb & valid
            stag = torch.where(tunnel, torch.zeros_like(stag), stag)
            total = sum(b.dim for b in self._buffers)
            mean_abs = sum(th.abs().sum(dim=1, dtype=torch.float64) for th in thetas) / max(total, 1)
            scale = (0.8 * mean_abs + 0.1) * temp
            tunnel_rows = tunnel.nonzero().flatten().tolist()  # the step's one host sync
        self._stagnation[idx_t] = stag
        all_valid = bool(valid.all())
        for gi, (b, th, g) in enumerate(zip(self._buffers, thetas, grads, strict=True)):
            eta, dt = self._eta(self.param_groups[gi]), b.theta.dtype
            if swarm:
                # 0.2 r (best - th) + gamma sum_j w_ij (theta_j - th), folded into three kernels
                a = (_ATTRACT * r).to(dt)
                extra = (self.gamma * w).to(dt) @ b.theta
                extra.addcmul_((-(_ATTRACT * r) - self.gamma * w.sum(dim=1)).to(dt)[:, None], th)
                extra.addr_(a, b.best)
                if tunnel_rows:
                    rows = torch.tensor(tunnel_rows, device=th.device)
                    noise = torch.rand(len(tunnel_rows), b.dim, generator=gen, device=th.device, dtype=dt)
                    extra[rows] += (noise * 2 - 1) * scale[rows].to(dt)[:, None]
            v = b.square_avg if full else b.square_avg.index_select(0, idx_t)
            if not all_valid:
                keep = valid[:, None]
                g = torch.where(keep, g, torch.zeros_like(g))
                v_old = v.clone()
            # exactly torch.optim.RMSprop's arithmetic (single-tensor path), on every agent at once
            v.mul_(_RMS_ALPHA).addcmul_(g, g, value=1 - _RMS_ALPHA)
            th.addcdiv_(g, v.sqrt().add_(_RMS_EPS), value=-eta)
            if swarm:
                th.add_(extra)
            if not all_valid:  # a bad evaluation restarts that agent at the global best, memory intact
                v.copy_(torch.where(keep, v, v_old))
                th.copy_(torch.where(keep, th, b.best[None, :].expand_as(th)))
            if not full:
                b.theta.index_copy_(0, idx_t, th)
                b.square_avg.index_copy_(0, idx_t, v)
                if not all_valid:
                    b.grad.index_copy_(0, idx_t, g)
            elif not all_valid:
                b.grad.copy_(g)
        for b in self._buffers:  # the model holds the best-known weights
            torch._foreach_copy_(b.params, [b.param_view(b.best, j) for j in range(len(b.params))])
        self._step_count += 1
        if self._tracking:
            _state.record(self, temp, len(tunnel_rows))
        return self._best_loss.clone()

    # ------------------------------------------------------------------ diagnostics and state
    def enable_tracking(self, enabled: bool = True) -> None:
        """Record per-step losses, diversity, tunnels, Bloch angles and temperature (host syncs each step)."""
        self._tracking = bool(enabled)

    def get_log(self) -> dict[str, list[Any]]:
        """A copy of the tracking log: keys losses, diversity, tunnels, alphas, betas, temperature."""
        return {key: list(val) for key, val in self._log.items()}

    def reset_log(self) -> None:
        """Clear the tracking log."""
        self._log = _state.empty_log()

    def get_agent_losses(self) -> list[float]:
        """Each agent's cached loss from its last evaluation (inf before its first)."""
        return self._loss.tolist()

    def agent_params(self) -> list[torch.Tensor]:
        """Views (num_agents, *shape) of every agent's weights, one per parameter in optimizer order."""
        return [b.param_view(b.theta, j) for b in self._buffers for j in range(len(b.params))]

    def params_in_order(self) -> list[torch.Tensor]:
        """The optimizer's parameters in the order ``step_batched``'s loss function receives them."""
        return [p for b in self._buffers for p in b.params]

    @property
    def best_loss(self) -> float:
        """The global best loss so far (inf before the first finite evaluation)."""
        return float(self._best_loss)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically: agents, accumulators, bests, Bloch states, RNG."""
        return _state.state_dict(self, super().state_dict())

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from ``state_dict()`` (also into an optimizer built with another seed); same device kind."""
        _state.load_state_dict(self, state_dict)


def _like(t: torch.Tensor) -> dict[str, Any]:
    return {"device": t.device, "dtype": t.dtype}


QIMAD = QIMADTorch
"""Short alias of :class:`QIMADTorch`."""

__all__ = ["COOLINGS", "QIMAD", "TOPOLOGIES", "QIMADTorch"]
