"""Multi-GPU (or multi-process CPU) training through torchrun and DistributedDataParallel.

Usage (4 GPUs of one host; NCCL backend when CUDA is present, gloo otherwise)::

    torchrun --nproc_per_node 4 -m labkit.nmr_fno.training_ddp --n-spins 4 6 8 \\
        --counts 20000 10000 5000 --epochs 200 --out runs/fno-ddp

Every rank generates the same seeded data set; :func:`~labkit.nmr_fno.training.train_surrogate`
gives rank r every world_size-th sample of each epoch's permutation and DDP averages gradients,
so the per-step batch is world_size x batch_size. Rank 0 writes ``surrogate.pt`` and ``history.json``.
Checkpoints/resume belong to ``labkit run`` (single process); this entry point is for scale-out.
"""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path

import torch

from labkit.core import atomic_write_bytes, atomic_write_json
from labkit.nmr_fno.fno import FNOConfig
from labkit.nmr_fno.surrogate import Surrogate, SurrogateSpec
from labkit.nmr_fno.training import TrainSettings, train_surrogate
from labkit.nmr_fno.training_data import make_dataset

__all__ = ["main", "run_distributed"]


def run_distributed(n_spins: list[int], counts: list[int], settings: TrainSettings, out: Path | None,
                    fno: FNOConfig | None = None, seed: int = 0) -> Surrogate:
    """Train inside an initialised process group (call after ``init_process_group``); returns the local replica."""
    rank = torch.distributed.get_rank()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}") if torch.cuda.is_available() else torch.device("cpu")
    spec = SurrogateSpec(n_max=max(n_spins), n_spins=list(n_spins), n_t=(fno or FNOConfig()).n_t)
    data = make_dataset(spec, dict(zip(n_spins, counts, strict=True)), seed=seed)
    torch.manual_seed(seed)  # identical initial replicas (DDP also broadcasts rank 0's weights)
    sur = Surrogate.build(spec, fno or FNOConfig())
    sur.model.to(device)
    history = train_surrogate(sur, data.x, data.y, settings)
    if rank == 0 and out is not None:
        out.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save(sur.state_dict(), buf)
        atomic_write_bytes(out / "surrogate.pt", buf.getvalue())
        atomic_write_json(out / "history.json", history)
    return sur


def main(argv: list[str] | None = None) -> None:
    """torchrun entry point (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m labkit.nmr_fno.training_ddp")
    p.add_argument("--n-spins", type=int, nargs="+", default=[3, 4, 5, 6])
    p.add_argument("--counts", type=int, nargs="+", default=[800, 400, 200, 100])
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    if len(a.counts) != len(a.n_spins):
        p.error(f"--counts needs one value per --n-spins ({len(a.n_spins)}), got {len(a.counts)}")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    torch.distributed.init_process_group(backend)
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    try:
        run_distributed(a.n_spins, a.counts, TrainSettings(epochs=a.epochs, batch_size=a.batch_size, seed=a.seed), a.out,
                        FNOConfig(width=a.width), seed=a.seed)
    finally:
        torch.distributed.destroy_process_group()
    if a.out is not None and int(os.environ.get("RANK", 0)) == 0:
        print(json.dumps({"out": str(a.out)}))


if __name__ == "__main__":
    main()
