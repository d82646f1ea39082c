"""Artifacts: safetensors + artifact.json, checksum-verified, rebuilt through registered factories."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from labkit.core import ArtifactError, PluginRegistry, RunContext, load_run, state_dict_factory
from labkit.core.artifacts import read_artifact, to_tensors, write_artifact


def _toy_registry(models: dict) -> PluginRegistry:
    class Plugin:
        @staticmethod
        def labkit_models():
            return models

    from labkit.core import hookimpl

    Plugin.labkit_models = hookimpl(Plugin.labkit_models)
    registry = PluginRegistry()
    registry.add("toy", Plugin)
    return registry


def _ctx(tmp_path: Path, registry: PluginRegistry) -> RunContext:
    (tmp_path / "config.json").write_text(json.dumps({"experiment": "toy:x", "seed": 5, "config": {}, "layout": 2}))
    return RunContext(config=None, out_dir=tmp_path, seed=5, device="cpu", log=logging.getLogger("test"),
                      plugin="toy", experiment="toy:x", registry=registry)


def test_numpy_round_trip_is_exact_and_the_json_records_everything(tmp_path):
    arrays = {"w": np.random.default_rng(0).standard_normal((3, 4)), "n": np.arange(5, dtype=np.int32), "s": 2.5}
    write_artifact(tmp_path, "a", arrays, factory="toy:m", kind="model", config={"k": 3}, description="d",
                   metadata={"seed": 1})
    record, tensors = read_artifact(tmp_path, "a")
    np.testing.assert_array_equal(tensors["w"], arrays["w"])
    assert tensors["n"].dtype == np.int32 and tensors["s"].shape == () and float(tensors["s"]) == 2.5
    payload = (tmp_path / "artifacts" / "a" / record["tensors"]["file"]).read_bytes()
    assert record["tensors"]["sha256"] == hashlib.sha256(payload).hexdigest()
    assert record["tensors"]["flavour"] == "numpy"
    assert record["factory"] == {"kind": "model", "name": "toy:m"} and record["config"] == {"k": 3}
    assert record["metadata"]["seed"] == 1 and "created" in record["metadata"]


def test_the_tensors_file_is_plain_safetensors_readable_without_labkit(tmp_path):
    from safetensors.numpy import load_file

    write_artifact(tmp_path, "a", {"w": np.ones(3)}, factory="toy:m", kind="model", config={}, description="")
    (path,) = (tmp_path / "artifacts" / "a").glob("tensors-*.safetensors")
    assert load_file(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_torch_state_dict_round_trips_with_tied_weights(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    model[1].weight = model[0].weight  # shared storage: safetensors refuses it unless copied
    write_artifact(tmp_path, "net", model, factory="toy:m", kind="model", config={}, description="")
    record, tensors = read_artifact(tmp_path, "net")
    assert record["tensors"]["flavour"] == "torch"
    for key, value in model.state_dict().items():
        assert torch.equal(tensors[key], value)


def test_an_altered_tensors_file_is_refused(tmp_path):
    write_artifact(tmp_path, "a", {"w": np.zeros(4)}, factory="toy:m", kind="model", config={}, description="")
    (path,) = (tmp_path / "artifacts" / "a").glob("tensors-*.safetensors")
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="sha256 of the tensors file does not match"):
        read_artifact(tmp_path, "a", attempts=1)


@pytest.mark.parametrize("bad, message", [
    ({"w": "text"}, "not an array"),
    ({"w": {"nested": np.zeros(1)}}, "not an array"),
    (object(), "state_dict"),
])
def test_what_is_not_an_array_mapping_is_refused(bad, message):
    with pytest.raises(ArtifactError, match=message):
        to_tensors(bad)


def test_bad_names_and_configs_are_refused(tmp_path):
    with pytest.raises(ArtifactError, match="artifact name"):
        write_artifact(tmp_path, "../x", {}, factory="toy:m", kind="model", config={}, description="")
    with pytest.raises(ArtifactError, match="kind must be one of"):
        write_artifact(tmp_path, "a", {}, factory="toy:m", kind="widget", config={}, description="")
    with pytest.raises(ArtifactError, match="config must be JSON"):
        write_artifact(tmp_path, "a", {}, factory="toy:m", kind="model", config={"x": float("nan")}, description="")
    assert not (tmp_path / "artifacts" / "a").exists()


class Scale:
    def __init__(self, n):
        self.w = np.zeros(n)

    def state_dict(self):
        return {"w": self.w}

    def load_state_dict(self, sd):
        self.w = np.asarray(sd["w"])


def test_ctx_save_artifact_then_load_run_rebuilds_through_the_factory(tmp_path):
    registry = _toy_registry({"scale": state_dict_factory(Scale)})
    ctx = _ctx(tmp_path, registry)
    model = Scale(3)
    model.w = np.array([1.0, 2.0, 3.0])
    ctx.save_artifact("scale", model, factory="scale", config={"n": 3}, description="a scale")
    run = load_run(tmp_path)
    assert run.artifacts == {"scale": "a scale"}
    rebuilt = run.artifact("scale", registry=registry)
    assert isinstance(rebuilt, Scale) and rebuilt.w.tolist() == [1.0, 2.0, 3.0]
    meta = run.artifact_record("scale")["metadata"]
    assert meta["seed"] == 5 and meta["device"] == "cpu" and meta["experiment"] == "toy:x" and meta["labkit_core"]


def test_saving_with_an_unregistered_factory_is_refused_before_writing(tmp_path):
    ctx = _ctx(tmp_path, _toy_registry({"scale": state_dict_factory(Scale)}))
    with pytest.raises(ArtifactError, match=r"no model factory 'toy:scal' is registered; registered: toy:scale"):
        ctx.save_artifact("s", Scale(1), factory="scal", config={"n": 1}, description="")
    assert not (tmp_path / "artifacts").exists()


def test_an_artifact_whose_plugin_is_gone_says_what_to_install(tmp_path):
    ctx = _ctx(tmp_path, _toy_registry({"scale": state_dict_factory(Scale)}))
    ctx.save_artifact("s", Scale(1), factory="scale", config={"n": 1}, description="")
    with pytest.raises(ArtifactError, match=r"needs the model factory 'toy:scale'"):
        load_run(tmp_path).artifact("s", registry=PluginRegistry())


def test_unknown_artifact_lists_the_known_ones(tmp_path):
    write_artifact(tmp_path, "a", {"w": np.zeros(1)}, factory="toy:m", kind="model", config={}, description="")
    (tmp_path / "config.json").write_text(json.dumps({"experiment": "toy:x", "config": {}, "layout": 2}))
    with pytest.raises(ArtifactError, match="has no artifact 'b'; its artifacts: a"):
        load_run(tmp_path).artifact("b")


def test_reading_while_the_artifact_is_saved_again_gives_one_whole_version(tmp_path):
    versions = [{"w": np.full(n, float(n))} for n in (3, 5)]
    write_artifact(tmp_path, "a", versions[0], factory="toy:m", kind="model", config={"n": 3}, description="")
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            v = versions[i % 2]
            write_artifact(tmp_path, "a", v, factory="toy:m", kind="model", config={"n": v["w"].size}, description="")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            record, tensors = read_artifact(tmp_path, "a")
            assert tensors["w"].tolist() == [float(record["config"]["n"])] * record["config"]["n"]
    finally:
        stop.set()
        thread.join()
    assert len(list((tmp_path / "artifacts" / "a").glob("tensors-*.safetensors"))) <= 2
