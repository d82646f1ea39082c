"""GPU paths of core (run with `pytest -m gpu --labkit-device cuda` on a CUDA machine)."""

from __future__ import annotations

import pytest

from labkit.core import Checkpointer, measure, resolve_device

pytestmark = pytest.mark.gpu


def test_auto_picks_cuda_and_timing_synchronises():
    torch = pytest.importorskip("torch")
    assert resolve_device("auto") == "cuda" == resolve_device("cuda")
    x = torch.randn(2048, 2048, device="cuda")
    synced = measure(lambda: x @ x, warmup=2, repeats=5, sync="cuda")
    # an unsynchronised timer only measures the kernel launch; a synchronised one the matmul itself
    launched = measure(lambda: x @ x, warmup=2, repeats=5)
    assert synced.median > launched.median


def test_cuda_state_is_checkpointed_and_restored_on_cpu(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(8, 4).cuda()
    Checkpointer(tmp_path).save(1, {"model": model.state_dict()})
    loaded = Checkpointer(tmp_path).load_latest().state["model"]
    assert loaded["weight"].device.type == "cpu"
    fresh = torch.nn.Linear(8, 4).cuda()
    fresh.load_state_dict(loaded)
    assert torch.equal(fresh.weight, model.weight)
