"""Checkpointer: atomic, checksummed, keep-last-k, corrupt files detected and skipped."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labkit.core import Checkpointer, CheckpointError


def test_roundtrip_numpy_pytree_and_json(tmp_path):
    ck = Checkpointer(tmp_path)
    state = {"w": np.arange(6.0).reshape(2, 3), "meta": {"epoch": 3, "name": "x", "hist": [0.5, 0.25]}, "raw": b"\x00\x01"}
    ck.save(3, state, metadata={"note": "hi"})
    loaded = ck.load_latest()
    assert loaded.step == 3 and loaded.metadata == {"note": "hi"}
    np.testing.assert_array_equal(loaded.state["w"], state["w"])
    assert loaded.state["meta"] == state["meta"] and loaded.state["raw"] == b"\x00\x01"
    assert json.loads((tmp_path / "progress.json").read_text())["latest_step"] == 3


def test_keep_last_k(tmp_path):
    ck = Checkpointer(tmp_path, keep_last=3)
    for step in range(1, 8):
        ck.save(step, {"s": step})
    assert ck.steps() == [5, 6, 7]
    assert ck.load_latest().state == {"s": 7}


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_latest_falls_back_with_warning(tmp_path, damage):
    ck = Checkpointer(tmp_path)
    ck.save(1, {"s": 1})
    path = ck.save(2, {"s": 2, "pad": list(range(100))})
    blob = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        path.write_bytes(blob[:-5] + bytes([blob[-5] ^ 0xFF]) + blob[-4:])
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    else:
        path.write_bytes(b"")
    with pytest.warns(RuntimeWarning, match=r"step-0000000002\.ckpt.*corrupt; falling back"):
        loaded = ck.load_latest()
    assert loaded.step == 1 and loaded.state == {"s": 1}
    assert path.exists(), "a corrupt checkpoint is reported, never deleted"


def test_all_corrupt_is_an_error_that_deletes_nothing(tmp_path):
    ck = Checkpointer(tmp_path)
    path = ck.save(1, {"s": 1})
    path.write_bytes(path.read_bytes()[:10])
    with pytest.warns(RuntimeWarning), pytest.raises(CheckpointError, match=r"no usable checkpoint.*--force"):
        ck.load_latest()
    assert path.exists()


def test_empty_directory_has_no_checkpoint(tmp_path):
    assert Checkpointer(tmp_path / "none").load_latest() is None


def test_torch_state_dicts_roundtrip(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    Checkpointer(tmp_path).save(1, {"model": model.state_dict(), "opt": opt.state_dict()})
    loaded = Checkpointer(tmp_path).load_latest().state
    fresh = torch.nn.Linear(3, 2)
    fresh.load_state_dict(loaded["model"])
    assert torch.equal(fresh.weight, model.weight)
    assert torch.equal(loaded["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_jax_arrays_are_stored_as_numpy(tmp_path):
    jnp = pytest.importorskip("jax.numpy")
    Checkpointer(tmp_path).save(1, {"cores": [jnp.ones((1, 2, 3)), jnp.zeros(2)]})
    cores = Checkpointer(tmp_path).load_latest().state["cores"]
    assert type(cores[0]) is np.ndarray and cores[0].shape == (1, 2, 3)


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path, monkeypatch):
    from labkit.core import atomic

    target = tmp_path / "f.bin"
    atomic.atomic_write_bytes(target, b"old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomic.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="keep_last"):
        Checkpointer("x", keep_last=0)
    with pytest.raises(ValueError, match="step"):
        Checkpointer("x").save(-1, {})
