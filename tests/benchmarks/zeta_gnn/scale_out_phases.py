"""Where an epoch of zeta-gnn:train's ``scale`` preset spends its time on each rank, timed with a device sync per phase.

Host batch building (the epoch's cluster cut, then this rank's batches built and copied), forward and
backward, the gradient all-reduce, Adam, validation; 3 epochs after one warm-up. One GPU accumulating
2 batches per step against two GPUs with one each (the same algorithm):

    CUDA_VISIBLE_DEVICES=0 torchrun --standalone --nproc-per-node 1 tests/benchmarks/zeta_gnn/scale_out_phases.py
    torchrun --standalone --nproc-per-node 2 tests/benchmarks/zeta_gnn/scale_out_phases.py

``DEV=cpu HIDDEN=32`` runs it on gloo (a smoke check; CPU timings say nothing about GPUs).
"""

import os
import time

import numpy as np
import torch

from labkit.core import distributed as d
from labkit.zeta_gnn._device_batches import batch_loss, by_destination, device_batches, validation_sums
from labkit.zeta_gnn.batching import cluster_batches, partition
from labkit.zeta_gnn.losses import SpacingLoss
from labkit.zeta_gnn.model import ZetaGCN
from labkit.zeta_gnn.spectral import spacing_law
from labkit.zeta_gnn.training import prepare
from labkit.zeta_gnn.zeros import zeta_zeros

group = d.join(os.environ.get("DEV", "cuda"))
dev, rank, world = group.device, group.rank, group.world_size
data = prepare(zeta_zeros(1, 19_050), 19_000)  # the scale preset: 64 contiguous clusters, 8 per batch
parts = partition(data.edge_index, data.n.size, 64, "contiguous")
torch.manual_seed(0)
model = ZetaGCN(data.x.shape[1], int(os.environ.get("HIDDEN", 4096))).to(dev)
opt = torch.optim.Adam(model.parameters(), 1e-3)
loss_fn = SpacingLoss(spacing_law("empirical", empirical=data.s_true[: data.n_train - 1]),
                      {"mse": 1.0, "nll": 0.02, "mmd": 0.1}, 256)
phases: dict[str, float] = {}


def tick(key: str, t0: float) -> float:
    if dev != "cpu":
        torch.cuda.synchronize()
    now = time.perf_counter()
    phases[key] = phases.get(key, 0.0) + now - t0
    return now


for epoch in range(4):
    if epoch == 1:
        phases.clear()
    t = time.perf_counter()
    steps = d.step_groups(8, accumulate=2 // world, rank=rank, world=world)
    mine = {b for s in steps for b in s.mine}
    rng = np.random.default_rng([0, epoch])
    seeds = rng.integers(0, 2**63, size=8)
    edges, _ = by_destination(data)
    groups = {b: (x.nodes, x.edge_index, x.edge_weight)
              for b, x in enumerate(cluster_batches(parts, edges, 8, rng, keep=mine)) if x is not None}
    t = tick("host cluster_batches", t)
    batches = device_batches(data, loss_fn, groups, {b: np.random.default_rng(seeds[b]) for b in groups}, dev)
    t = tick("host+copy device_batches", t)
    for s in steps:
        opt.zero_grad()
        for b in s.mine:
            (batch_loss(model, data, loss_fn, batches[b]).total / s.count).backward()
        t = tick("forward+backward", t)
        d.sum_gradients_and(model.parameters(), torch.zeros(1, device=dev))
        t = tick("all-reduce", t)
        opt.step()
        t = tick("adam", t)
    d.sum_values(validation_sums(model, data, dev, rank, world))
    t = tick("validation", t)
print(f"[rank {rank}/{world}] ms per epoch (3 epochs after 1 warm-up): "
      + ", ".join(f"{k} {v / 3 * 1e3:.1f}" for k, v in phases.items())
      + f"; total {sum(phases.values()) / 3 * 1e3:.1f}", flush=True)
d.leave()
