"""DDP on CPU (gloo, 2 processes): replicas stay identical and rank 0 writes the surrogate."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    from labkit.nmr_fno.fno import FNOConfig
    from labkit.nmr_fno.training import TrainSettings
    from labkit.nmr_fno.training_ddp import run_distributed

    sur = run_distributed([3], [12], TrainSettings(epochs=2, batch_size=4), out, FNOConfig(width=4, n_layers=1, modes=8, n_t=64, encoder_width=16))
    torch.save(sur.model.state_dict(), out / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_ddp_gloo_two_ranks_identical(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), tmp_path), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "surrogate.pt").exists() and (tmp_path / "history.json").exists()
