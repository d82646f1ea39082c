"""RunContext: loops that track state_dict objects and get/set pairs, thread limits, the registry."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labkit.core import CheckpointError, PluginRegistry, RunContext, Tracked


def _ctx(out: Path, resume: bool = False) -> RunContext:
    return RunContext(config=None, out_dir=out, seed=0, device="cpu", log=logging.getLogger("t"), resume=resume,
                      registry=PluginRegistry())


class Boom(Exception):
    pass


def _train(out: Path, *, resume: bool, stop_at: int | None) -> list[float]:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    history = {"loss": np.zeros(0)}
    track = {"model": model, "opt": opt, "sched": sched,
             "history": Tracked(lambda: history["loss"], lambda v: history.update(loss=np.asarray(v)))}
    for step in _ctx(out, resume).loop(12, track=track, checkpoint_every=2):
        if step == stop_at:
            raise Boom
        x = torch.randn(8, 4)
        loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history["loss"] = np.append(history["loss"], loss.item())
    return [*history["loss"].tolist(), *model.weight.detach().flatten().tolist()]


def test_tracked_model_optimizer_scheduler_and_value_resume_exactly(tmp_path):
    expected = _train(tmp_path / "a", resume=False, stop_at=None)
    with pytest.raises(Boom):
        _train(tmp_path / "b", resume=False, stop_at=7)
    assert _train(tmp_path / "b", resume=True, stop_at=None) == expected


def test_track_and_state_are_exclusive_and_untrackable_objects_are_named(tmp_path):
    ctx = _ctx(tmp_path)
    with pytest.raises(ValueError, match="not both"):
        ctx.loop(2, track={}, state=dict, restore=print)
    with pytest.raises(ValueError, match="needs track="):
        ctx.loop(2)
    with pytest.raises(TypeError, match=r"track\['w'\]: a ndarray has no state_dict"):
        list(ctx.loop(2, track={"w": np.zeros(2)}, name="bad"))


def test_resuming_with_other_tracked_names_is_refused(tmp_path):
    box = {"v": 0}
    pair = Tracked(lambda: box["v"], lambda v: box.update(v=v))
    list(_ctx(tmp_path).loop(2, track={"v": pair}, name="n"))
    with pytest.raises(CheckpointError, match=r"tracks \['v'\], this code tracks \['w'\]"):
        list(_ctx(tmp_path, resume=True).loop(3, track={"w": pair}, name="n"))


def test_threads_restores_torch_and_blas_settings(tmp_path):
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_info

    before_torch = torch.get_num_threads()
    before_blas = [p["num_threads"] for p in threadpool_info()]
    with _ctx(tmp_path).threads(1):
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    assert torch.get_num_threads() == before_torch
    assert [p["num_threads"] for p in threadpool_info()] == before_blas
    with _ctx(tmp_path).threads(0):  # 0 means: leave it alone
        assert torch.get_num_threads() == before_torch


def test_resolve_selects_core_and_plugin_optimizers_by_name(tmp_path):
    torch = pytest.importorskip("torch")
    ctx = _ctx(tmp_path)
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert type(ctx.resolve("optimizer", "adamw")(params, lr=0.1)).__name__ == "AdamW"
    assert type(ctx.resolve("optimizer", "core:sgd")(params, lr=0.1, seed=1, total_steps=5)).__name__ == "SGD"
    with pytest.raises(Exception, match="optimizer 'lion' is not registered; available: core:adam, core:adamw, core:sgd"):
        ctx.resolve("optimizer", "lion")


def test_resolve_prefers_the_running_plugin(tmp_path):
    from labkit.core import hookimpl

    def plugin(value):
        class P:
            @staticmethod
            @hookimpl
            def labkit_simulators():
                return {"sim": lambda: value}
        return P

    registry = PluginRegistry()
    registry.add("one", plugin(1))
    registry.add("two", plugin(2))
    ctx = RunContext(config=None, out_dir=tmp_path, seed=0, device="cpu", log=logging.getLogger("t"), plugin="two",
                     registry=registry)
    assert ctx.resolve("simulator", "sim")() == 2
    assert ctx.resolve("simulator", "one:sim")() == 1


_NO_TORCH = """
import sys
from labkit.core import seed_everything, resolve_device
from labkit.core.runner import run_experiment
from labkit.core.plugins import PluginRegistry
seed_everything(3)
resolve_device("auto")
outcome = run_experiment(PluginRegistry.discover(), "toy:accumulate", preset="quick", out_dir=sys.argv[1], echo=False)
assert outcome.status == "completed"
print("torch" in sys.modules, "jax" in sys.modules)
"""


def test_a_run_that_uses_neither_torch_nor_jax_imports_neither(plugin_site, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(plugin_site), LABKIT_PROGRESS="0", LABKIT_PLUGINS="toy")
    proc = subprocess.run([sys.executable, "-c", _NO_TORCH, str(tmp_path / "r")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


def test_torch_imported_after_seeding_is_seeded():
    pytest.importorskip("torch")
    code = ("from labkit.core import seed_everything; seed_everything(11)\n"
            "import torch; a = torch.rand(3); torch.manual_seed(11); print(torch.equal(a, torch.rand(3)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
