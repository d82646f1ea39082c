"""Training loop of the surrogate: any registered optimizer + cosine annealing, physics-informed loss, DDP-aware.

The optimizer comes from a factory of core's contract, ``factory(params, *, lr, weight_decay, seed,
total_steps)`` (an experiment passes ``ctx.resolve("optimizer", cfg.optimizer)``; the library
default is core's AdamW). Each step runs through a closure, so swarm methods such as QIMAD, which
re-evaluate the loss once per agent, work alike. The loop is resumable through whatever ``loop``
factory the caller passes (an experiment passes ``ctx.loop``): it tracks weights, optimiser,
scheduler and history (``track=``), and each epoch's
shuffle comes from a generator seeded with (seed, epoch), so a resumed run repeats the same
batches. Under ``torchrun`` (``torch.distributed`` initialised) the model is wrapped in
DistributedDataParallel and each rank takes every world_size-th sample of the epoch's permutation.

Example:
    >>> import numpy as np
    >>> from labkit.nmr_fno.fno import FNOConfig
    >>> from labkit.nmr_fno.surrogate import Surrogate, SurrogateSpec
    >>> sur = Surrogate.build(SurrogateSpec(n_max=3, n_t=32), FNOConfig(width=4, modes=4, n_layers=1))
    >>> x = np.zeros((4, sur.model.n_features), np.float32); y = np.zeros((4, 3, 32), np.float32)
    >>> len(train_surrogate(sur, x, y, TrainSettings(epochs=2, batch_size=2)))
    2
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core import LossResult, Tracked
from labkit.core.optimizers import adamw
from labkit.nmr_fno.physics_loss import physics_informed_loss
from labkit.nmr_fno.surrogate import Surrogate

__all__ = ["OptimizerFactory", "TrainSettings", "rmse_per_sample", "train_surrogate"]

LoopFactory = Callable[..., Iterable[int]]
OptimizerFactory = Callable[..., torch.optim.Optimizer]
"""core's optimizer contract: ``factory(params, *, lr, weight_decay=0.0, seed=None, total_steps=None)``."""


@dataclass
class TrainSettings:
    """Hyper-parameters (defaults from the issue: lr 1e-3, weight decay 1e-5, batch 16, 200 epochs, physics 0.01)."""

    epochs: int = 200
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-5
    physics_weight: float = 0.01
    checkpoint_every: int = 10
    seed: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the field when out of range."""
        if self.epochs < 1 or self.batch_size < 1 or self.checkpoint_every < 1:
            raise ValueError(f"epochs, batch_size, checkpoint_every must be >= 1, got {self}")
        if not self.lr > 0 or self.weight_decay < 0 or self.physics_weight < 0:
            raise ValueError(f"lr must be > 0 and weight_decay, physics_weight >= 0, got {self}")


def rmse_per_sample(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Root-mean-square error over channels and time, one value per sample (units of Mx(0)).

    >>> rmse_per_sample(np.ones((2, 3, 4)), np.zeros((2, 3, 4))).tolist()
    [1.0, 1.0]
    """
    return np.sqrt(np.mean((np.asarray(pred) - np.asarray(target)) ** 2, axis=tuple(range(1, np.ndim(pred)))))


def _plain_loop(total: int, **_: object) -> Iterable[int]:
    return range(total)


def train_surrogate(
    surrogate: Surrogate,
    x: np.ndarray,
    y: np.ndarray,
    settings: TrainSettings | None = None,
    loop: LoopFactory | None = None,
    log: logging.Logger | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    optimizer: OptimizerFactory = adamw,
) -> list[dict]:
    """Train in place; returns the per-epoch history (loss components, validation RMSE when given).

    ``loop(total, track=..., checkpoint_every=..., name=..., desc=...)`` yields epoch indices
    (``ctx.loop`` in experiments: checkpoints every ``checkpoint_every`` epochs, resumable).
    ``optimizer`` is a factory of core's contract (``ctx.resolve("optimizer", name)``), called as
    ``optimizer(params, lr=, weight_decay=, seed=, total_steps=)``.
    """
    st = settings or TrainSettings()
    st.validate()
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"x and y must hold the same non-zero number of samples, got {x.shape[0]} and {y.shape[0]}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x, y: training data contain NaN or inf")
    model = surrogate.model
    device = next(model.parameters()).device
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank, world = (torch.distributed.get_rank(), torch.distributed.get_world_size()) if distributed else (0, 1)
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    per_rank = -(-x.shape[0] // world)  # ceil division
    steps_per_epoch = -(-per_rank // st.batch_size)
    opt = optimizer(model.parameters(), lr=st.lr, weight_decay=st.weight_decay, seed=st.seed,
                    total_steps=st.epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=st.epochs)
    history: list[dict] = []
    track = {"model": model, "opt": opt, "sched": sched,
             "history": Tracked(lambda: list(history), lambda v: history.__setitem__(slice(None), v))}
    loop = loop or _plain_loop
    for epoch in loop(st.epochs, track=track, checkpoint_every=st.checkpoint_every, name="train", desc="epochs"):
        model.train()
        gen = torch.Generator().manual_seed(st.seed * 100_003 + epoch)
        perm = torch.randperm(x.shape[0], generator=gen)[rank::world].to(device)
        sums: dict[str, float] = {}
        n_batches = 0
        for start in range(0, perm.numel(), st.batch_size):
            idx = perm[start : start + st.batch_size]
            captured: dict[str, LossResult] = {}

            def closure(idx=idx, captured=captured):  # a swarm method re-runs it once per evaluated agent
                opt.zero_grad(set_to_none=True)
                captured["res"] = physics_informed_loss(net(xt[idx]), yt[idx], weight=st.physics_weight)
                captured["res"].total.backward()
                return captured["res"].total

            opt.step(closure)
            res = captured["res"]
            n_batches += 1
            for k, v in {"total": res.total, **res.components}.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
        sched.step()
        rec = {"epoch": epoch + 1, "lr": float(opt.param_groups[0]["lr"]), **{k: v / max(n_batches, 1) for k, v in sums.items()}}
        if validation is not None:
            pred = _predict_arrays(model, validation[0])
            rec["val_rmse"] = float(np.sqrt(np.mean((pred - validation[1]) ** 2)))
        history.append(rec)
        if log is not None and rank == 0:
            log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.3g}" for k, v in rec.items() if k != "epoch"))
    return history


def _predict_arrays(model: torch.nn.Module, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            out.append(model(torch.from_numpy(np.asarray(x[s : s + batch_size], np.float32)).to(device)).cpu().numpy())
    model.train(was)
    return np.concatenate(out)
