"""QIMADTorch: quantum-inspired multi-agent descent as a vectorised, resumable ``torch.optim`` optimizer."""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from labkit.qimad import _state
from labkit.qimad._batched import CapturedEvaluation, LossFn, evaluate_agents
from labkit.qimad._buffers import GroupBuffers, build_group
from labkit.qimad._rmsprop import rmsprop_exact_, rmsprop_fused_
from labkit.qimad._swarm import (
    COOLINGS,
    TOPOLOGIES,
    fidelity_rows,
    gaussians,
    mixing_matrix,
    neighbour_graph,
    neighbour_lists,
    temperature,
)

_ATTRACT = 0.2  # pull towards the global best: 0.2 * U(0,1) * (best - theta)
_STAGNATION = 3  # tunnelling is allowed once an agent has not improved for more than this many evaluations


_NO_ROWS = torch.empty(0, dtype=torch.int64)


class _ParamGroup(dict[str, Any]):
    """A param group whose ``eta`` and ``lr`` are one value: writing either (a scheduler writes ``lr``) sets both."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in ("eta", "lr"):
            super().__setitem__("eta", value)
            key = "lr"
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


class QIMADTorch(Optimizer):
    """Quantum-inspired multi-agent descent: a swarm of RMSProp agents coupled by Bloch-state fidelities.

    Every agent is a full copy of the weights (stacked as (num_agents, *shape) per parameter).
    ``step(closure)`` evaluates ``k_eval`` agents round-robin (one closure call each), updates the
    global and personal bests, random-walks every agent's Bloch state, and moves each evaluated agent by
    an RMSProp step, a pull towards the global best, a fidelity-weighted consensus pull towards its
    neighbours and, when it stagnates, a temperature-scaled tunnelling jump. Afterwards the model holds
    the best weights found and ``step`` returns their loss. With one agent it is exactly
    ``torch.optim.RMSprop(lr=eta, alpha=0.99, eps=1e-8)`` on the agent's weights.

    The tunnelling jump has standard deviation ``(0.8 * mean|theta| + 0.1) * T``, with mean|theta| over
    all of the agent's weights (one scale per agent), where the original algorithm scales per tensor.
    ``lr`` and ``eta`` are one value in every param group: a ``torch.optim.lr_scheduler`` writing
    ``lr`` moves ``eta`` too.

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
        self._evaluating: int | None = None  # the agent step() is evaluating (zero_grad then zeroes in place)
        self._captured: CapturedEvaluation | None = None  # step_batched's CUDA graph, if one was asked for
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
        # The O(num_agents) swarm bookkeeping lives on the host as Python floats: every step needs it
        # there anyway (the tunnelling decision is data-dependent control flow), and keeping it off the
        # device saves ~50 tiny kernel launches per step. Weights-sized state, the generator and every
        # random number stay on the parameters' device (torch.optim keeps its `step` counters on the host too).
        self._adjacency = neighbour_graph(self.topology, n, self._gen, device).cpu()
        self._refresh_graph()
        self._alpha: list[float] = (torch.rand(n, generator=self._gen, **f64) * math.pi).tolist()
        self._beta: list[float] = (torch.rand(n, generator=self._gen, **f64) * (2 * math.pi)).tolist()
        self._loss = [math.inf] * n  # cached loss of each agent's last evaluation
        self._pbest = [math.inf] * n
        self._stagnation = [0] * n
        self._best_loss = math.inf
        self._returned: tuple[float | None, torch.Tensor] = (None, torch.tensor(math.inf, dtype=torch.float64))
        self._step_count, self._pointer = 0, 0
        self._tracking, self._log = False, _state.empty_log()

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
        super().add_param_group(_ParamGroup(param_group))
        buf = build_group(self.param_groups[-1]["params"], self.num_agents)
        self._buffers.append(buf)
        for j, p in enumerate(buf.params):  # per-parameter views, the familiar optimizer.state[p] layout
            self.state[p] = {"agents": buf.param_view(buf.theta, j), "square_avg": buf.param_view(buf.square_avg, j),
                             "grad": buf.param_view(buf.grad, j), "best": buf.param_view(buf.best, j)}

    def _eta(self, group: dict[str, Any]) -> float:
        return float(group["lr"])  # a _ParamGroup: eta is the same value

    # ------------------------------------------------------------------ evaluation
    def _next_indices(self) -> tuple[list[int], torch.Tensor | None]:
        """This step's agents, round robin, and their index tensor (None when all agents, in order)."""
        n, k = self.num_agents, self.k_eval
        idx = [(self._pointer + j) % n for j in range(k)]
        self._pointer = (self._pointer + k) % n
        return idx, (None if k == n else torch.tensor(idx, device=self._gen.device))

    def zero_grad(self, set_to_none: bool = True) -> None:
        """As ``torch.optim.Optimizer.zero_grad``; inside ``step`` it zeroes the evaluated agent's gradient in place."""
        if self._evaluating is None:
            super().zero_grad(set_to_none)
            return
        for b in self._buffers:
            b.grad[self._evaluating].zero_()
            b.attach_grads(self._evaluating)

    def step(self, closure: Callable[[], Any] | None = None) -> torch.Tensor:  # type: ignore[override]
        """Evaluate ``k_eval`` agents with ``closure`` (which must recompute loss and gradients), move the swarm.

        The closure is called once per evaluated agent with that agent's weights loaded into the
        parameters and their gradients zeroed (``zero_grad`` inside the closure is cheap and optional).
        Returns the global best loss (a 0-d float64 tensor on the CPU: reading it costs no device sync).
        If the closure raises, the model is put back at the best weights and no agent has moved.
        """
        if closure is None:
            raise ValueError("closure: QIMADTorch.step(closure) needs a closure that returns the loss "
                             "after calling backward() (it evaluates several agents per step)")
        # The evaluation loop runs in the caller's grad mode: loading an agent and attaching its gradient
        # row touch only buffers that autograd never sees, so the usual no_grad/enable_grad switch around
        # every closure call (it costs more than loading the agent) is needed only when grad is disabled.
        if not torch.is_grad_enabled():
            closure = torch.enable_grad()(closure)
        pointer = self._pointer
        idx, idx_t = self._next_indices()
        with torch.no_grad():
            for b in self._buffers:
                b.bind_params()
                b.grad.zero_() if idx_t is None else b.grad.index_fill_(0, idx_t, 0.0)
        losses = []
        try:
            for i in idx:
                self._evaluating = i
                for b in self._buffers:
                    b.load_agent(i)
                loss = closure()
                loss = (loss.detach() if isinstance(loss, torch.Tensor)
                        else torch.tensor(float(loss), dtype=torch.float64))
                if loss.numel() != 1:
                    raise ValueError(f"closure: must return a scalar loss, got shape {tuple(loss.shape)}")
                losses.append(loss)
                for b in self._buffers:
                    b.collect_grad(i)
        except BaseException:
            self._pointer = pointer
            with torch.no_grad():
                for b in self._buffers:
                    b.live.copy_(b.best)
            raise
        finally:
            self._evaluating = None
        device = self._gen.device
        try:
            loss_t = torch.stack(losses)
        except RuntimeError:  # losses on different devices (a python float from the closure, say)
            loss_t = torch.stack([loss.reshape(()).to(device) for loss in losses])
        if loss_t.dim() != 1 or loss_t.device != device:
            loss_t = loss_t.reshape(len(losses)).to(device)
        return self._advance(idx, idx_t, loss_t.to(dtype=torch.float64))

    def step_batched(self, loss_fn: LossFn, cuda_graph: bool = False) -> torch.Tensor:
        """Like ``step`` but evaluates all ``k_eval`` agents in one vmapped call of a functional loss.

        ``loss_fn(params)`` takes the parameters as a list in this optimizer's order (see
        ``functional_loss``) and returns a scalar loss; it is run under ``torch.func.vmap`` of
        ``torch.func.grad_and_value``, so it must be vmap-compatible (no in-place buffer updates).

        ``cuda_graph=True`` (CUDA parameters, ``k_eval == num_agents``) captures that call in a CUDA
        graph on first use with this ``loss_fn`` and replays it afterwards. The graph replays the
        tensors ``loss_fn`` read when it was captured: copy new data into them in place.
        """
        idx, idx_t = self._next_indices()
        full = idx_t is None
        if cuda_graph:
            if self._gen.device.type != "cuda" or not full:
                raise ValueError("cuda_graph: needs CUDA parameters and k_eval == num_agents "
                                 f"(device {self._gen.device.type}, k_eval={self.k_eval}, "
                                 f"num_agents={self.num_agents})")
            if self._captured is None or self._captured.loss_fn is not loss_fn:
                self._captured = CapturedEvaluation(self._buffers, loss_fn)
            loss = self._captured()
        else:
            loss = evaluate_agents(self._buffers, loss_fn, idx_t)
        with torch.no_grad():
            return self._advance(idx, idx_t, loss.to(device=self._gen.device, dtype=torch.float64))

    # ------------------------------------------------------------------ the dynamics
    def _refresh_graph(self) -> None:
        """Derived neighbour data, rebuilt whenever the adjacency is set (init, load_state_dict)."""
        self._neighbours = neighbour_lists(self._adjacency)
        self._has_neighbour = [bool(nb) for nb in self._neighbours]

    @torch.no_grad()
    def _advance(self, idx: list[int], idx_t: torch.Tensor | None, losses: torch.Tensor) -> torch.Tensor:
        n, k, gen = self.num_agents, len(idx), self._gen
        full = idx_t is None  # every agent evaluated in order 0..n-1: whole tensors, no gathers or scatters
        sel = _NO_ROWS if idx_t is None else idx_t  # the evaluated rows (unused when full)
        swarm = n > 1
        thetas = [b.theta if full else b.theta.index_select(0, sel) for b in self._buffers]
        grads = [b.grad if full else b.grad.index_select(0, sel) for b in self._buffers]
        # An evaluation is valid when its loss and its gradient sum are finite: the sum catches every
        # nan/inf entry, and a sum that overflows means g*g would overflow the RMSProp accumulator anyway.
        check = losses
        for g in grads:
            check = check + g.sum(dim=1)
        # This step's random numbers, one uniform draw from the device generator: 2n for the agents'
        # Gaussian Bloch walks (Box-Muller), then, with a swarm, k attraction and k tunnelling uniforms.
        uniforms = torch.rand(2 * n + (2 * k if swarm else 0), generator=gen, device=gen.device, dtype=torch.float64)
        host = torch.cat((check, losses, uniforms)).tolist()  # the step's one host sync
        check_h, loss_h, drawn = host[:k], host[k:2 * k], host[2 * k:]
        walk = gaussians(drawn[:2 * n])
        valid = [math.isfinite(c) for c in check_h]
        safe = [x if ok else math.inf for x, ok in zip(loss_h, valid, strict=True)]
        winner = min(range(k), key=safe.__getitem__)  # the first minimum, in evaluation order
        improved = safe[winner] < self._best_loss
        if improved:
            self._best_loss = safe[winner]
            for b, th in zip(self._buffers, thetas, strict=True):
                b.best.copy_(th[winner])
        for pos, i in enumerate(idx):
            self._loss[i] = loss_h[pos]
            if safe[pos] < self._pbest[i]:
                self._pbest[i], self._stagnation[i] = safe[pos], 0
            else:
                self._stagnation[i] += 1
        # every agent's Bloch state random-walks at temperature-scaled speeds
        temp = temperature(self.cooling, self._step_count, self.total_steps, self.min_temp)
        speed_a, speed_b = self.alpha_lr * temp, self.beta_lr * temp
        self._alpha = [min(max(a + speed_a * d, 0.0), math.pi) for a, d in zip(self._alpha, walk[:n], strict=True)]
        self._beta = [(b + speed_b * d) % (2 * math.pi) for b, d in zip(self._beta, walk[n:], strict=True)]
        tunnel_rows: list[int] = []
        if swarm:
            pull_u, tunnel_u = drawn[2 * n:2 * n + k], drawn[2 * n + k:]
            for pos, i in enumerate(idx):
                if (self._has_neighbour[i] and valid[pos] and self._stagnation[i] > _STAGNATION
                        and tunnel_u[pos] < math.sin(self._alpha[i] / 2) ** 2):
                    tunnel_rows.append(pos)
                    self._stagnation[i] = 0
            pull = [_ATTRACT * u * self._has_neighbour[i] for u, i in zip(pull_u, idx, strict=True)]
            weights = fidelity_rows(self._alpha, self._beta, self._neighbours, self.k, idx)
            mixing = array("d", mixing_matrix(weights, idx, pull, self.gamma))
        if tunnel_rows:  # jump size (0.8 mean|theta| + 0.1) T, from the agents before this step's move
            rows = torch.tensor(tunnel_rows, device=gen.device)
            total = max(sum(b.dim for b in self._buffers), 1)
            abs_sum = torch.stack([th.index_select(0, rows).abs().sum(dim=1, dtype=torch.float64) for th in thetas])
            scale = (0.8 * abs_sum.sum(dim=0) / total + 0.1) * temp
        all_valid = all(valid)
        if not all_valid:
            keep = torch.tensor(valid, device=gen.device)[:, None]
        for gi, (b, th, g) in enumerate(zip(self._buffers, thetas, grads, strict=True)):
            eta, dt = self._eta(self.param_groups[gi]), b.theta.dtype
            if swarm:
                extra = torch.frombuffer(mixing, dtype=torch.float64).view(k, n + 1).to(gen.device, dt) @ b.store
                if tunnel_rows:
                    noise = torch.rand(len(tunnel_rows), b.dim, generator=gen, device=th.device, dtype=dt)
                    extra.index_add_(0, rows, noise.mul_(2).sub_(1).mul_(scale.to(dt)[:, None]))
            v = b.square_avg if full else b.square_avg.index_select(0, sel)
            if not all_valid:
                g = torch.where(keep, g, torch.zeros_like(g))
                v_old = v.clone()
            # every agent at once; a lone agent with torch.optim.RMSprop's exact arithmetic, a swarm in one pass
            (rmsprop_fused_ if swarm else rmsprop_exact_)(th, g, v, eta)
            if swarm:
                th.add_(extra)
            if not all_valid:  # a bad evaluation restarts that agent at the global best, memory intact
                v.copy_(torch.where(keep, v, v_old))
                th.copy_(torch.where(keep, th, b.best[None, :].expand_as(th)))
            if not full:
                b.theta.index_copy_(0, sel, th)
                b.square_avg.index_copy_(0, sel, v)
                if not all_valid:
                    b.grad.index_copy_(0, sel, g)
            elif not all_valid:
                b.grad.copy_(g)
        for b in self._buffers:  # the model holds the best-known weights
            b.live.copy_(b.best)
        self._step_count += 1
        if self._tracking:
            _state.record(self, temp, len(tunnel_rows))
        if self._returned[0] != self._best_loss:  # a new 0-d tensor only when the best changed
            self._returned = (self._best_loss, torch.scalar_tensor(self._best_loss, dtype=torch.float64))
        return self._returned[1]

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
        return list(self._loss)

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
