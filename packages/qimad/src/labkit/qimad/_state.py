"""Argument checks, tracking log and the (de)serialisation of a QIMADTorch's complete state.

The swarm-wide state (Bloch angles, losses, stagnation, the generator) lives under the top-level
key ``"qimad"``, not in per-parameter state: ``torch.optim.Optimizer.load_state_dict`` casts every
per-parameter tensor to the parameter's dtype, which would silently corrupt a uint8 RNG state.
The generator state is stored as ``bytes`` (built without numpy, which torch does not require).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from labkit.qimad._swarm import COOLINGS, TOPOLOGIES

if TYPE_CHECKING:  # pragma: no cover
    from labkit.qimad._optimizer import QIMADTorch

_FORMAT = 1
_PER_PARAM = ("agents", "square_avg", "grad")
_CONFIG = ("gamma", "k", "alpha_lr", "beta_lr", "topology", "k_eval", "cooling", "total_steps",
           "min_temp", "seed")
# host-side swarm bookkeeping (Python floats/ints, saved as CPU tensors) and the neighbour graph
_SWARM_FLOAT = ("_alpha", "_beta", "_loss", "_pbest")
_LOG_KEYS = ("losses", "diversity", "tunnels", "alphas", "betas", "temperature")


def check_rate(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")


def validate_config(*, num_agents: Any, gamma: Any, k: Any, alpha_lr: Any, beta_lr: Any, topology: Any,
                    k_eval: Any, cooling: Any, total_steps: Any, min_temp: Any, seed: Any) -> None:
    """Check every constructor argument, raising ValueError that names the bad one and what is allowed."""
    if isinstance(num_agents, bool) or not isinstance(num_agents, int) or num_agents < 1:
        raise ValueError(f"num_agents: must be an integer >= 1, got {num_agents!r}")
    for name, value in (("gamma", gamma), ("k", k), ("alpha_lr", alpha_lr), ("beta_lr", beta_lr)):
        check_rate(name, value)
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology: unknown {topology!r}; allowed: {', '.join(TOPOLOGIES)}")
    if k_eval is not None and (isinstance(k_eval, bool) or not isinstance(k_eval, int)
                               or not 1 <= k_eval <= num_agents):
        raise ValueError(f"k_eval: must be None or an integer in [1, num_agents={num_agents}], got {k_eval!r}")
    if cooling is not None and cooling not in COOLINGS:
        raise ValueError(f"cooling: unknown {cooling!r}; allowed: {', '.join(COOLINGS)} or None")
    if total_steps is not None and (isinstance(total_steps, bool) or not isinstance(total_steps, int)
                                    or total_steps < 1):
        raise ValueError(f"total_steps: must be None or an integer >= 1, got {total_steps!r}")
    if isinstance(min_temp, bool) or not isinstance(min_temp, (int, float)) or not 0 < min_temp <= 1:
        raise ValueError(f"min_temp: must be in (0, 1], got {min_temp!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed: must be None or an integer >= 0, got {seed!r}")


def empty_log() -> dict[str, list[Any]]:
    """A fresh tracking log."""
    return {key: [] for key in _LOG_KEYS}


def record(opt: QIMADTorch, temp: float, tunnels: int) -> None:
    """Append one step's diagnostics to ``opt._log`` (diversity: mean L2 distance to the swarm centroid)."""
    sq = sum(((b.theta - b.theta.mean(dim=0, keepdim=True)) ** 2).sum(dim=1, dtype=torch.float64)
             for b in opt._buffers)
    opt._log["losses"].append(list(opt._loss))
    opt._log["diversity"].append(float(torch.as_tensor(sq).sqrt().mean()))
    opt._log["tunnels"].append(int(tunnels))
    opt._log["alphas"].append(list(opt._alpha))
    opt._log["betas"].append(list(opt._beta))
    opt._log["temperature"].append(float(temp))


def state_dict(opt: QIMADTorch, base: dict[str, Any]) -> dict[str, Any]:
    """A snapshot (cloned tensors) in torch's layout plus the swarm section ``"qimad"``."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    i = 0
    for b in opt._buffers:
        for j in range(len(b.params)):
            state[i] = {key: b.param_view(buf, j).clone()
                        for key, buf in zip(_PER_PARAM, (b.theta, b.square_avg, b.grad), strict=True)}
            state[i]["best"] = b.param_view(b.best, j).clone()
            i += 1
    swarm: dict[str, Any] = {name[1:]: torch.tensor(getattr(opt, name), dtype=torch.float64) for name in _SWARM_FLOAT}
    swarm.update(stagnation=torch.tensor(opt._stagnation, dtype=torch.int64),
                 best_loss=torch.tensor(opt._best_loss, dtype=torch.float64), adjacency=opt._adjacency.clone())
    swarm.update({key: getattr(opt, key) for key in _CONFIG})
    swarm.update(
        format=_FORMAT, num_agents=opt.num_agents, step=opt._step_count, pointer=opt._pointer,
        rng_state=bytes(opt._gen.get_state().tolist()), rng_device=str(opt._gen.device),
        tracking=opt._tracking, log={key: list(val) for key, val in opt._log.items()},
    )
    return {"state": state, "param_groups": base["param_groups"], "qimad": swarm}


def load_state_dict(opt: QIMADTorch, sd: dict[str, Any]) -> None:
    """Copy a ``state_dict()`` into ``opt``'s buffers, check shapes, restore config, swarm and generator."""
    swarm = sd.get("qimad")
    if not isinstance(swarm, dict):
        raise ValueError("state_dict: not a QIMADTorch state dict (missing the 'qimad' section)")
    if swarm["num_agents"] != opt.num_agents:
        raise ValueError(f"state_dict: saved with num_agents={swarm['num_agents']}, "
                         f"this optimizer has num_agents={opt.num_agents}")
    groups = sd["param_groups"]
    if len(groups) != len(opt.param_groups) or any(
            len(g["params"]) != len(own["params"]) for g, own in zip(groups, opt.param_groups, strict=True)):
        raise ValueError("state_dict: param groups differ in number or size from this optimizer's")
    rng_device = torch.device(swarm["rng_device"]).type
    if rng_device != opt._gen.device.type:
        raise ValueError(f"state_dict: the generator state is from a {rng_device} generator, "
                         f"this optimizer runs on {opt._gen.device.type}")
    per_param = sd["state"]
    with torch.no_grad():
        for b, g in zip(opt._buffers, groups, strict=True):
            for j, pid in enumerate(g["params"]):
                saved = per_param[pid]
                for key, buf in zip(_PER_PARAM, (b.theta, b.square_avg, b.grad), strict=True):
                    view = b.param_view(buf, j)
                    if tuple(saved[key].shape) != tuple(view.shape):
                        raise ValueError(f"state_dict: parameter {pid} '{key}' has shape "
                                         f"{tuple(saved[key].shape)}, expected {tuple(view.shape)}")
                    view.copy_(saved[key])
                b.param_view(b.best, j).copy_(saved["best"])
        for own, g in zip(opt.param_groups, groups, strict=True):
            own.update({key: val for key, val in g.items() if key != "params"})
    for name in _SWARM_FLOAT:
        setattr(opt, name, [float(x) for x in swarm[name[1:]].tolist()])
    opt._stagnation = [int(x) for x in swarm["stagnation"].tolist()]
    opt._best_loss = float(swarm["best_loss"])
    opt._adjacency = swarm["adjacency"].to(device="cpu", dtype=torch.bool).clone()
    opt._refresh_graph()
    for key in _CONFIG:
        setattr(opt, key, swarm[key])
    opt._step_count, opt._pointer = int(swarm["step"]), int(swarm["pointer"])
    opt._gen.set_state(torch.frombuffer(bytearray(swarm["rng_state"]), dtype=torch.uint8))
    opt._tracking = bool(swarm["tracking"])
    opt._log = {key: list(val) for key, val in swarm["log"].items()}
