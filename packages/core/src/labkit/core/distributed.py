"""Scale out through torch.distributed: the same algorithm on K processes, GPUs or nodes.

``labkit run EXP --nproc K`` checks its input once, then starts K processes through torch's own
launcher (``torch.distributed.run``), each running ``python -m labkit.core.cli run EXP ...``;
``torchrun [--nnodes N ...] -m labkit.core.cli run EXP ...`` does the same across nodes. Each
process joins the group (NCCL on CUDA, gloo on CPU); rank 0 runs the run folder (lock, config,
checkpoints, results), the other ranks write nothing and receive the setup from rank 0.

The same algorithm as one process: an optimizer step takes ``accumulate * world`` consecutive
batches of the one-process order; rank ``r`` computes batches ``r, r + world, ...`` of each step
(:func:`step_groups`), and the summed gradients (:func:`sum_gradients`), each batch's loss scaled
by ``1 / Step.count``, are the one-process mean. So ``--nproc K`` follows the trajectory of
``--nproc 1 --set accumulate=K``, and no batch is dropped: a rank with no batch in the last step
contributes a zero gradient. torch is imported only here, only when several processes run.

Example:
    >>> [(s.mine, s.count) for s in step_groups(5, rank=1, world=2)]
    [((1,), 2), ((3,), 2), ((), 1)]
    >>> [s.mine for s in step_groups(5, accumulate=2)]
    [(0, 1), (2, 3), (4,)]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.core._errors import LabkitError

__all__ = ["Group", "Step", "announce", "barrier", "broadcast", "current", "join", "launch", "launched", "leave",
           "receive", "step_groups", "sum_arrays", "sum_gradients", "sum_gradients_and", "sum_values"]

#: torchrun's variables that make a process one rank of a group
_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Step:
    """One optimizer step: the batch indices this rank computes, and how many the step holds in all."""

    mine: tuple[int, ...]
    count: int


def step_groups(n_batches: int, *, accumulate: int = 1, rank: int = 0, world: int = 1) -> list[Step]:
    """Split ``n_batches`` (the one-process order) into optimizer steps of ``accumulate * world`` batches.

    Rank ``r`` takes batches ``start + r, start + r + world, ...`` of each step; the last step may be
    short, and a rank may have nothing in it (it still joins the gradient sum with zeros).
    """
    if accumulate < 1 or world < 1 or not 0 <= rank < world:
        raise ValueError(f"need accumulate >= 1 and 0 <= rank < world; got {accumulate}, {rank}, {world}")
    size = accumulate * world
    steps = []
    for start in range(0, n_batches, size):
        count = min(size, n_batches - start)
        steps.append(Step(tuple(start + j for j in range(rank, count, world)), count))
    return steps


@dataclass(frozen=True)
class Group:
    """This process's place in the group: rank, world size, local rank, backend and its device."""

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: str


_group: Group | None = None


def launched() -> bool:
    """Whether this process was started by torchrun (``torch.distributed.run``) as one rank of a group."""
    return all(name in os.environ for name in _ENV)


def current() -> Group | None:
    """The group this process joined (None: one process)."""
    return _group


def join(device: str) -> Group:
    """Join the group torchrun set up: ``nccl`` and ``cuda:LOCAL_RANK`` for ``cuda``, else ``gloo`` and ``cpu``."""
    global _group
    import torch
    import torch.distributed as dist

    local_rank = int(os.environ["LOCAL_RANK"])
    if device == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise LabkitError(f"local rank {local_rank} has no GPU: this node has {torch.cuda.device_count()}; "
                              "start at most that many processes per node")
        torch.cuda.set_device(local_rank)
        backend, where = "nccl", f"cuda:{local_rank}"
    else:
        backend, where = "gloo", "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    _group = Group(dist.get_rank(), dist.get_world_size(), local_rank, backend, where)
    return _group


def leave() -> None:
    """Leave the group (at the end of the process)."""
    global _group
    if _group is not None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
        _group = None


def broadcast(obj: Any, src: int = 0) -> Any:
    """``obj`` of rank ``src`` on every rank (pickled: small objects, setup and data arrays)."""
    if _group is None or _group.world_size == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=src, device=_device_for_objects())
    return box[0]


_announced = [False]


def announce(setup: dict[str, Any]) -> None:
    """Rank 0: send the run's setup (or ``{"stop": status}`` when no run starts) to the other ranks, once."""
    if not _announced[0]:
        _announced[0] = True
        broadcast(setup)


def announced() -> bool:
    """Whether rank 0 has sent the setup."""
    return _announced[0]


def receive() -> dict[str, Any]:
    """Ranks > 0: the setup rank 0 announces."""
    return broadcast(None)


def _device_for_objects() -> Any:
    import torch

    return torch.device(_group.device) if _group is not None and _group.backend == "nccl" else None


def sum_gradients(params: Iterable[Any]) -> None:
    """Sum the gradients of ``params`` over the ranks in place, in one flat all-reduce.

    A parameter without a gradient (this rank computed no batch) counts as zeros, so every rank
    joins the sum and ends with the same gradient.
    """
    sum_gradients_and(params, None)


def sum_gradients_and(params: Iterable[Any], values: Any) -> Any:
    """:func:`sum_gradients`, with the 1-D tensor ``values`` summed in the same all-reduce; returns its sum.

    One collective per optimizer step carries the gradients and the step's loss terms, and the
    sum stays a tensor on ``values``' device: a training loop needs no host synchronisation per
    step (read the sums once per epoch). ``values`` may be None (then None is returned).

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> sum_gradients_and([w], torch.tensor([3.0])).tolist(), w.grad.tolist()
        ([3.0], [0.0, 0.0])
    """
    import torch

    params = [p for p in params if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    if _group is None or _group.world_size == 1 or not params:
        return values
    import torch.distributed as dist

    grads = [p.grad.reshape(-1) for p in params]
    extra = [] if values is None else [values.reshape(-1).to(grads[0].dtype)]
    flat = torch.cat(grads + extra)
    dist.all_reduce(flat)
    offset = 0
    for p in params:
        n = p.grad.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n
    return None if values is None else flat[offset:].to(values.dtype).view_as(values)


def sum_arrays(arrays: Sequence[Any]) -> list[Any]:
    """Each numpy array summed over the ranks (float64, one all-reduce for all of them).

    The gather of sharded work: each rank fills the entries it computed and leaves zeros
    elsewhere, so the sum is the whole result on every rank, exactly (one writer per entry).
    One process: the arrays, as float64.

    Example:
        >>> import numpy as np
        >>> [a.tolist() for a in sum_arrays([np.arange(3), np.ones((1, 2))])]
        [[0.0, 1.0, 2.0], [[1.0, 1.0]]]
    """
    import numpy as np

    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if _group is None or _group.world_size == 1 or not arrays:
        return arrays
    import torch
    import torch.distributed as dist

    flat = torch.from_numpy(np.concatenate([a.reshape(-1) for a in arrays])).to(_group.device)
    dist.all_reduce(flat)
    flat = flat.cpu().numpy()
    out, offset = [], 0
    for a in arrays:
        out.append(flat[offset : offset + a.size].reshape(a.shape))
        offset += a.size
    return out


def sum_values(values: Sequence[float]) -> list[float]:
    """Each of ``values`` summed over the ranks (float64)."""
    if _group is None or _group.world_size == 1:
        return [float(v) for v in values]
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=_group.device)
    dist.all_reduce(t)
    return t.cpu().tolist()


def barrier() -> None:
    """Wait for every rank."""
    if _group is not None and _group.world_size > 1:
        import torch.distributed as dist

        dist.barrier()


def launch(nproc: int, child_argv: Sequence[str]) -> tuple[int, str | None]:
    """Run ``python -m labkit.core.cli <child_argv>`` as ``nproc`` ranks on this machine (torch's launcher).

    Returns ``(exit status, why)``: 0 and None when every rank ended well; else the first rank
    that failed, as a sentence (``why``) naming the rank and its exit code or signal.
    """
    try:
        from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
        from torch.distributed.run import parse_args, run
    except ImportError:
        raise LabkitError("--nproc starts processes through torch.distributed, but torch is not installed here") from None
    args = parse_args(["--standalone", f"--nproc-per-node={nproc}", "--max-restarts=0",
                       "-m", "labkit.core.cli", *child_argv])
    try:
        run(args)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        codes = {f.exitcode for f in exc.failures.values()}
        if 2 in codes and rank == 0 and failure.exitcode == 2:
            return 2, None  # a refusal, already printed by rank 0
        how = f"was killed by {failure.signal_name()}" if failure.exitcode < 0 else f"exited with status {failure.exitcode}"
        return 1, f"rank {rank} (pid {failure.pid}) {how}"
    return 0, None


def child_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--nproc K`` / ``--nproc=K``: what each rank runs.

    Example:
        >>> child_argv(["run", "a:b", "--nproc", "2", "--seed", "1"])
        ['run', 'a:b', '--seed', '1']
    """
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out

