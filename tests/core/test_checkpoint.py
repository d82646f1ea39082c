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


def _v1_pickle_checkpoint(path, payload, step=1):
    """A checkpoint of the first format: header outside any checksum, pickle payload."""
    import hashlib

    header = {"step": step, "codec": "pickle", "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload), "metadata": {}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"LABKIT-CHECKPOINT 1\n" + json.dumps(header).encode() + b"\n" + payload)


def test_a_crafted_pickle_checkpoint_is_refused_never_executed(tmp_path):
    import pickle

    from labkit.core.checkpoint import OldCheckpointFormat

    witness = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(witness), "w"))

    _v1_pickle_checkpoint(tmp_path / "ck" / "step-0000000001.ckpt", pickle.dumps({"user": Exploit()}))
    with pytest.raises(OldCheckpointFormat, match=r"step-0000000001\.ckpt.*earlier labkit.*--force"):
        Checkpointer(tmp_path / "ck").load_latest()
    assert not witness.exists()


def test_the_header_is_covered_by_the_checksum(tmp_path):
    ck = Checkpointer(tmp_path)
    ck.save(40, {"s": 40})
    path = ck.save(41, {"s": 41})
    blob = path.read_bytes()
    path.write_bytes(blob.replace(b'"step": 41', b'"step": 81', 1))  # a one-character change in the header
    with pytest.warns(RuntimeWarning, match="checksum mismatch"):
        loaded = ck.load_latest()
    assert loaded.step == 40 and loaded.state == {"s": 40}


def test_a_checkpoint_under_another_step_name_is_corrupt(tmp_path):
    ck = Checkpointer(tmp_path)
    ck.save(1, {"s": 1})
    good = ck.save(2, {"s": 2})
    good.rename(ck.path_for(9))  # intact file, but the name claims step 9
    with pytest.warns(RuntimeWarning, match=r"header does not match the file: step 2 \(expected 9\)"):
        loaded = ck.load_latest()
    assert loaded.step == 1 and ck.path_for(9).exists()


def test_a_missing_header_key_is_corrupt_not_a_crash(tmp_path):
    import hashlib

    ck = Checkpointer(tmp_path)
    ck.save(1, {"s": 1})
    body = b"LABKIT-CHECKPOINT 2\n" + json.dumps({"schema": 2, "codec": "labkit-state-1"}).encode() + b"\n"
    ck.path_for(2).write_bytes(body + b"sha256:" + hashlib.sha256(body).hexdigest().encode() + b"\n")
    with pytest.warns(RuntimeWarning, match="step None"):
        assert ck.load_latest().step == 1


def test_corrupt_files_are_warned_about_once(tmp_path):
    import warnings

    ck = Checkpointer(tmp_path)
    ck.save(1, {"s": 1})
    ck.path_for(2).write_bytes(b"junk")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # count every warning, not Python's once-per-location
        for _ in range(3):
            assert Checkpointer(tmp_path).load_latest().step == 1
    assert len([w for w in caught if "corrupt" in str(w.message)]) == 1


def test_planted_or_corrupt_files_never_evict_good_checkpoints(tmp_path):
    ck = Checkpointer(tmp_path, keep_last=2)
    planted = [ck.path_for(9_000_000_000 + i) for i in range(3)]
    for path in planted:
        path.write_bytes(b"planted")
    for step in range(1, 6):
        ck.save(step, {"s": step})
    assert ck.steps() == [4, 5, *(9_000_000_000 + i for i in range(3))]
    assert all(p.read_bytes() == b"planted" for p in planted)
    with pytest.warns(RuntimeWarning):
        assert ck.load_latest().state == {"s": 5}
