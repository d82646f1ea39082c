"""Training data and training loop of the FID surrogate (relative L2 of the 1 Hz-broadened FID).

Data are exact trajectories from the batched sector-eigh simulator (float64, CPU or GPU) of
:func:`labkit.nmr_fno.task.task_systems` draws; each (seed, N) gives its own reproducible stream.
Training minimises the mean over systems of ||w (pred - exact)||^2 / ||w exact||^2 with
w(t) = exp(-pi * linewidth * t), i.e. the squared task metric (plus the I1z MSE for the FNO kind),
with AdamW (or any factory of core's optimizer contract) and one-cycle annealing; batches hold one N each. A checkpoint file makes it resumable.

Example:
    >>> from labkit.nmr_fno.fid_surrogate import FIDSpec, FIDSurrogate
    >>> data = make_fid_data({4: 4}, seed=0)
    >>> sur = FIDSurrogate.build("lines", FIDSpec(n_spins=[4]), hidden=8, head_width=8, slots=2)
    >>> hist = train_fid(sur, data, FIDTrainSettings(epochs=1, batch_size=2))
    >>> len(hist), hist[0]["train_loss"] < 2.0
    (1, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.core import Tracked
from labkit.core.optimizers import adamw

from .fid_surrogate import FIDSurrogate
from .systems import SpinSystem
from .task import TASK_LINEWIDTH_HZ, TASK_TIMES, task_systems

__all__ = ["FIDData", "FIDTrainSettings", "epoch_batches", "make_fid_data", "simulate_sharded", "train_fid"]


@dataclass
class FIDData:
    """Per N: parameter vectors (M, P) and unbroadened exact Mx, My, I1z (M, T) on the task grid."""

    vectors: dict[int, np.ndarray]
    mx: dict[int, np.ndarray]
    my: dict[int, np.ndarray]
    i1z: dict[int, np.ndarray]
    seconds_per_trajectory: dict[int, float]

    def systems(self, n: int) -> list[SpinSystem]:
        """The N-spin systems, in order."""
        return [SpinSystem.from_vector(v, n) for v in self.vectors[n]]

    def count(self) -> int:
        """Total number of systems."""
        return sum(v.shape[0] for v in self.vectors.values())


def simulate_sharded(groups: Mapping[Any, Sequence[SpinSystem]], device: str = "cpu", chunk: int = 256, ctx: Any = None,
                     observables: Sequence[str] = ("Mx", "My", "I1z")) -> dict[Any, np.ndarray]:
    """Exact unbroadened trajectories on the task grid, (len(observables), M, T) per group of same-N systems.

    Each group is cut into chunks of ``chunk`` systems, in group order. Under ``--nproc K`` (``ctx`` of
    one rank) rank r simulates chunks r, r + K, ... and one all-reduce (``ctx.sum_arrays``: one writer
    per row) gives every rank every chunk. A chunk is simulated the same way whichever rank runs it,
    so the result is identical for any world size.

    Example:
        >>> from labkit.nmr_fno.task import task_systems
        >>> out = simulate_sharded({"a": task_systems(3, 2, seed=0)}, observables=("Mx",))
        >>> out["a"].shape, float(out["a"][0, 0, 0])
        ((1, 2, 512), 1.0)
    """
    from .batch import simulate_batch

    rank, world = (ctx.rank, ctx.world_size) if ctx is not None else (0, 1)
    arrays = {key: np.zeros((len(observables), len(group), TASK_TIMES.size)) for key, group in groups.items()}
    pieces = [(key, s) for key, group in groups.items() for s in range(0, len(group), chunk)]
    for key, s in pieces[rank::world]:
        out = simulate_batch(list(groups[key][s : s + chunk]), TASK_TIMES, device=device, observables=tuple(observables))
        for k, name in enumerate(observables):
            arrays[key][k, s : s + chunk] = out[name].cpu().numpy()
    if world > 1:
        arrays = dict(zip(arrays, ctx.sum_arrays(arrays.values()), strict=True))
    return arrays


def make_fid_data(counts: Mapping[int, int], seed: int, device: str = "cpu", chunk: int = 256, ctx: Any = None) -> FIDData:
    """``counts[N]`` task systems per N (stream (seed, N)) with exact trajectories, sharded by :func:`simulate_sharded`.

    The systems are drawn on every rank alike (cheap); under ``--nproc`` each rank simulates its share
    of the chunks and every rank ends with the whole data set, identical for any world size.
    ``seconds_per_trajectory`` is wall time over this call's systems (all ranks working at once).
    """
    import torch

    systems = {n: task_systems(n, c, seed) for n, c in sorted(counts.items())}
    t0 = time.perf_counter()
    arrays = simulate_sharded(systems, device, chunk, ctx)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    total = max(1, sum(counts.values()))
    vec = {n: np.stack([s.to_vector() for s in systems[n]]) for n in systems}
    return FIDData(vec, *({n: a[k] for n, a in arrays.items()} for k in range(3)), {n: seconds / total for n in systems})


@dataclass
class FIDTrainSettings:
    """Optimizer (AdamW by default) + one-cycle annealing over ``epochs``; batches of one N.

    An optimizer step takes the mean gradient of ``accumulate`` batches per process (times the
    world size under ``--nproc``).
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-6
    linewidth_hz: float = TASK_LINEWIDTH_HZ
    seed: int = 0
    accumulate: int = 1
    checkpoint_every: int = 1


def epoch_batches(data: FIDData, batch_size: int, seed: int, epoch: int) -> list[tuple[int, np.ndarray]]:
    """The one-process batch order of ``epoch``: (N, indices) pairs, shuffled by (seed, epoch) only.

    >>> d = FIDData({3: np.zeros((5, 5))}, {}, {}, {}, {})
    >>> sorted(len(i) for _, i in epoch_batches(d, 2, seed=0, epoch=0))
    [1, 2, 2]
    """
    rng = np.random.default_rng([seed, epoch])
    order = [(n, idx) for n in data.vectors
             for idx in np.array_split(rng.permutation(len(data.vectors[n])), -(-len(data.vectors[n]) // batch_size))]
    rng.shuffle(order)
    return order


def train_fid(
    sur: FIDSurrogate,
    data: FIDData,
    settings: FIDTrainSettings | None = None,
    loop: Callable[..., Iterable[int]] | None = None,
    log: Callable[[str], None] | None = None,
    optimizer: Callable[..., Any] = adamw,
    name: str = "train",
    ctx: Any = None,
) -> list[dict]:
    """Train ``sur`` in place on ``data``; returns the per-epoch history (``epoch``, ``train_loss``, ``seconds``).

    ``loop(total, track=..., checkpoint_every=settings.checkpoint_every, name=name, desc=...)`` yields
    epoch indices (``ctx.loop``: checkpointed, resumable); without it, a plain ``range``.

    ``optimizer`` is a factory of core's contract (``ctx.resolve("optimizer", name)`` in an experiment),
    called as ``optimizer(params, lr=, weight_decay=, seed=, total_steps=)``; its step is taken through a
    closure, so swarm methods work too.

    Under ``--nproc K`` (``ctx`` of one rank; its model on ``ctx.local_device``) rank r computes
    batches r, r + K, ... of each step of ``accumulate * K`` batches of the one-process order, and the
    gradients are summed over ranks (each batch's loss scaled by 1 / the step's batch count): the
    trajectory of one process with ``accumulate = K``, no batch dropped. The gradient norm is
    clipped to 1 after the sum.
    """
    import torch

    from labkit.core.distributed import step_groups, sum_gradients, sum_values

    st = settings or FIDTrainSettings()
    model = sur.model
    dev = next(model.parameters()).device
    dt = next(model.parameters()).dtype
    w = torch.exp(-torch.pi * st.linewidth_hz * torch.as_tensor(TASK_TIMES, dtype=dt, device=dev))
    systems = {n: data.systems(n) for n in data.vectors}
    target = {n: torch.as_tensor(np.stack([data.mx[n], data.my[n], data.i1z[n]], 1), dtype=dt, device=dev) for n in data.vectors}
    batches_per_epoch = sum(-(-len(s) // st.batch_size) for s in systems.values())
    world = ctx.world_size if ctx is not None else 1
    steps_per_epoch = -(-batches_per_epoch // (st.accumulate * world))
    opt = optimizer(model.parameters(), lr=st.lr, weight_decay=st.weight_decay, seed=st.seed, total_steps=st.epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=st.lr, total_steps=st.epochs * steps_per_epoch, pct_start=0.05)
    history: list[dict] = []
    track = {"model": model, "opt": opt, "sched": sched,
             "history": Tracked(lambda: list(history), lambda v: history.__setitem__(slice(None), v))}
    epochs = loop(st.epochs, track=track, checkpoint_every=st.checkpoint_every, name=name, desc=f"{name} epochs") if loop else range(st.epochs)

    def batch_loss(n: int, idx: np.ndarray) -> Any:
        y = target[n][torch.as_tensor(idx, device=dev)]
        re, im, z = sur.forward_torch([systems[n][i] for i in idx])
        num = (((re - y[:, 0]) * w) ** 2 + ((im - y[:, 1]) * w) ** 2).sum(-1)
        den = ((y[:, 0] * w) ** 2 + (y[:, 1] * w) ** 2).sum(-1)
        loss = (num / den).mean()
        return loss + ((z - y[:, 2]) ** 2).mean() if z is not None else loss

    for epoch in epochs:
        order = epoch_batches(data, st.batch_size, st.seed, epoch)
        steps = ctx.steps(len(order), st.accumulate) if ctx is not None else step_groups(len(order), accumulate=st.accumulate)
        model.train()
        total, t0 = 0.0, time.perf_counter()
        for step in steps:
            seen: dict[str, float] = {}

            def closure(step=step, seen=seen, order=order):  # a swarm method re-runs it once per evaluated agent
                opt.zero_grad(set_to_none=True)
                mean, weighted = 0.0, 0.0
                for b in step.mine:
                    n, idx = order[b]
                    loss = batch_loss(n, idx)
                    (loss / step.count).backward()
                    mean += float(loss.detach())
                    weighted += float(loss.detach()) * len(idx)
                sum_gradients(model.parameters())
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                seen["weighted"] = weighted
                return torch.tensor(sum_values([mean])[0] / step.count)

            opt.step(closure)
            sched.step()
            total += seen["weighted"]
        total = sum_values([total])[0]
        history.append({"epoch": epoch + 1, "train_loss": total / data.count(), "seconds": time.perf_counter() - t0})
        if log is not None:
            log(f"{sur.kind} epoch {epoch + 1}/{st.epochs}: loss {history[-1]['train_loss']:.4g} ({history[-1]['seconds']:.1f} s)")
    model.eval()
    return history
