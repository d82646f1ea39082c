"""Data-parallel Cluster-GCN training through torch.distributed (DDP); run it under torchrun.

Every rank builds the same graph and partition, draws the same cluster permutation per epoch
(seeded by (seed, epoch)) and trains on every world-th batch; DDP averages the gradients.

Example (2 CPU processes, gloo)::

    torchrun --nproc-per-node 2 -m labkit.zeta_gnn.ddp --n-zeros 20000 --epochs 5 --out runs/ddp
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "train_ddp"]


def train_ddp(*, n_zeros: int = 5000, epochs: int = 3, n_parts: int = 32, clusters_per_batch: int = 4,
              hidden: int = 64, lr: float = 3e-3, batching: str = "metis", seed: int = 0, out: str | None = None,
              device: str = "cpu", backend: str | None = None, predict_k: int = 100) -> dict[str, Any]:
    """Train on this process's share of batches; the process group comes from torchrun's env vars."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from labkit.core import seed_everything
    from labkit.zeta_gnn.batching import partition
    from labkit.zeta_gnn.losses import SpacingLoss
    from labkit.zeta_gnn.model import ZetaGCN
    from labkit.zeta_gnn.spectral import spacing_law
    from labkit.zeta_gnn.training import evaluate, predict, prepare, train_epoch
    from labkit.zeta_gnn.zeros import zeta_zeros

    own_group = not dist.is_initialized()
    if own_group:
        dist.init_process_group(backend or ("nccl" if device == "cuda" else "gloo"))
    rank, world = dist.get_rank(), dist.get_world_size()
    if device == "cuda":
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    try:
        seed_everything(seed)
        # rank 0 fills the zeros and partition caches first; the others then only read them
        if rank != 0:
            dist.barrier()
        zeros = zeta_zeros(1, n_zeros + predict_k)
        data = prepare(zeros, n_zeros, seed=seed)
        cache = Path(out) / "partitions" if out else None
        parts = partition(data.edge_index, data.n.size, n_parts, batching, cache_dir=cache, seed=seed)
        if rank == 0:
            dist.barrier()
        torch.manual_seed(seed)  # identical initial weights on every rank (DDP also broadcasts them)
        net = ZetaGCN(data.x.shape[1], hidden).to(device)
        model = DDP(net, device_ids=[torch.device(device).index] if device.startswith("cuda") else None)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = SpacingLoss(spacing_law("empirical", empirical=data.s_true[: data.n_train - 1]),
                              {"mse": 1.0, "nll": 0.02, "mmd": 0.1})
        history = []
        t0 = time.perf_counter()
        for epoch in range(epochs):
            rng = np.random.default_rng([seed, epoch])
            history.append(train_epoch(model, opt, data, loss_fn, device=device, rng=rng, parts=parts,
                                       clusters_per_batch=clusters_per_batch, rank=rank, world=world))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        # NCCL reduces only device tensors; gloo takes CPU ones
        nodes = torch.tensor([sum(h["nodes"] for h in history)], dtype=torch.float64, device=device)
        dist.all_reduce(nodes)
        result: dict[str, Any] = {"rank": rank, "world": world, "seconds": seconds,
                                  "nodes_per_second": nodes.item() / seconds, "history": history,
                                  "param_checksum": float(sum(p.detach().double().sum().cpu() for p in net.parameters()))}
        if rank == 0:
            result["metrics"] = evaluate(data, predict(net, data, device))
            if out:
                Path(out).mkdir(parents=True, exist_ok=True)
                from labkit.core import atomic_write_json

                atomic_write_json(Path(out) / "ddp_results.json", result)
        return result
    finally:
        if own_group:
            dist.destroy_process_group()


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry for torchrun."""
    p = argparse.ArgumentParser(prog="python -m labkit.zeta_gnn.ddp", description=__doc__.splitlines()[0])
    p.add_argument("--n-zeros", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--n-parts", type=int, default=32)
    p.add_argument("--clusters-per-batch", type=int, default=4)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batching", choices=("metis", "contiguous"), default="metis")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    res = train_ddp(n_zeros=a.n_zeros, epochs=a.epochs, n_parts=a.n_parts, clusters_per_batch=a.clusters_per_batch,
                    hidden=a.hidden, lr=a.lr, batching=a.batching, seed=a.seed, out=a.out, device=a.device)
    if res["rank"] == 0:
        print(json.dumps({k: v for k, v in res.items() if k != "history"}, default=float))


if __name__ == "__main__":
    main()
