"""The state codec: exact round trips of what checkpoints hold, no code execution, no torch unless needed."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

from labkit.core.codec import MAGIC, StateDecodeError, decode_state, encode_state


def test_plain_values_roundtrip_exactly():
    tree = {
        "python_rng": random.Random(3).getstate(),
        "numpy_rng": np.random.RandomState(4).get_state(),
        1: {2: "int keys", (3, "t"): "tuple key"},
        "floats": [math.inf, -math.inf, -0.0, 1e-310, 0.1],
        "none": None, "flag": True, "big": 2**80, "bytes": b"\x00\xff", "z": 1 + 2j,
        "sets": ({1, 2}, frozenset({"a"})),
        "$t": "a key that looks like a tag",
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
    }
    back = decode_state(encode_state(tree))
    assert back[1] == tree[1] and back["python_rng"] == tree["python_rng"]
    assert back["floats"] == tree["floats"] and math.copysign(1, back["floats"][2]) == -1
    assert back["none"] is None and back["flag"] is True and back["big"] == 2**80 and back["bytes"] == b"\x00\xff"
    assert back["z"] == 1 + 2j and back["sets"] == tree["sets"] and back["$t"] == tree["$t"]
    assert type(back["ordered"]) is OrderedDict and list(back["ordered"]) == ["b", "a"]
    assert math.isnan(decode_state(encode_state(math.nan)))
    name, keys, pos, has_gauss, cached = back["numpy_rng"]
    assert name == "MT19937" and keys.dtype == np.uint32 and (keys == tree["numpy_rng"][1]).all()
    assert (pos, has_gauss, cached) == tree["numpy_rng"][2:]
    rs = np.random.RandomState()
    rs.set_state(back["numpy_rng"])
    assert rs.random_sample() == np.random.RandomState(4).random_sample()


def test_numpy_arrays_and_scalars_keep_dtype_shape_and_bits():
    tree = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2],  # not contiguous
        "c128": np.array([[1 + 2j, -3j]]), "c64": np.complex64(1j), "bool": np.array([True, False]),
        "zero_d": np.array(7, dtype=np.int16), "empty": np.zeros((0, 3)), "big_endian": np.arange(3, dtype=">i4"),
        "f16": np.float16(0.5), "u64": np.uint64(2**63 + 1), "nan": np.array([np.nan, np.inf]),
    }
    back = decode_state(encode_state(tree))
    for key, value in tree.items():
        got = back[key]
        assert type(got) is type(value), key
        assert np.asarray(got).shape == np.asarray(value).shape, key
        np.testing.assert_array_equal(got, value)
    assert back["f32"].dtype == np.float32 and back["c128"].dtype == np.complex128 and back["u64"] == 2**63 + 1
    back["f32"][0, 0] = 9.0  # restored arrays are writable


def test_torch_state_dicts_optimizer_and_rng_roundtrip():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    tree = {"model": model.state_dict(), "opt": opt.state_dict(), "rng": torch.get_rng_state(),
            "bf16": torch.ones(2, dtype=torch.bfloat16), "cplx": torch.tensor([1 + 2j]), "dtype": torch.float64,
            "device": torch.device("cpu"), "size": torch.Size([2, 3])}
    back = decode_state(encode_state(tree))
    fresh = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    fresh.load_state_dict(back["model"])
    assert back["model"]._metadata == tree["model"]._metadata
    opt2 = torch.optim.Adam(fresh.parameters(), lr=0.5)
    opt2.load_state_dict(back["opt"])
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999) and set(back["opt"]["state"]) == {0, 1, 2, 3}
    assert torch.equal(back["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    torch.set_rng_state(back["rng"])
    assert back["bf16"].dtype == torch.bfloat16 and torch.equal(back["cplx"], tree["cplx"])
    assert back["dtype"] is torch.float64 and back["device"] == torch.device("cpu") and back["size"] == (2, 3)


def test_jax_arrays_are_stored_as_numpy():
    jnp = pytest.importorskip("jax.numpy")
    back = decode_state(encode_state({"cores": [jnp.ones((1, 2)), jnp.zeros(2, dtype=jnp.uint32)]}))
    assert type(back["cores"][0]) is np.ndarray and back["cores"][1].dtype == np.uint32


def test_arbitrary_objects_are_refused_not_pickled():
    class Custom:
        pass

    with pytest.raises(TypeError, match=r"state\.x\[0\]: cannot store a .*Custom"):
        encode_state({"x": [Custom()]})
    with pytest.raises(TypeError, match="dtype object"):
        encode_state(np.array([None], dtype=object))


def test_numpy_state_needs_no_torch():
    code = ("import sys, numpy as np, random\n"
            "from labkit.core.codec import encode_state, decode_state\n"
            "back = decode_state(encode_state({'a': np.ones(3), 'rng': random.getstate()}))\n"
            "assert 'torch' not in sys.modules and 'jax' not in sys.modules, sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("blob", [
    b"", b"garbage", MAGIC, MAGIC + b"{not json}\n", MAGIC + b'{"tree": 1}\n',
    MAGIC + b'{"tree": {"$t": "pickle", "v": "x"}, "numpy": 0, "torch": 0}\n',
    MAGIC + b'{"tree": {"$t": "ndarray", "ref": "0"}, "numpy": 0, "torch": 0}\n',
    MAGIC + b'{"tree": {"$t": "float", "v": "__import__(\'os\')"}, "numpy": 0, "torch": 0}\n',
    MAGIC + b'{"tree": 1, "numpy": 5, "torch": 0}\nabc',
    MAGIC + b'{"tree": 1, "numpy": 3, "torch": 0}\nabc',
    MAGIC + b'{"tree": ' + b"[" * 100_000 + b"]" * 100_000 + b', "numpy": 0, "torch": 0}\n',
])
def test_malformed_blobs_are_a_decode_error(blob):
    with pytest.raises(StateDecodeError):
        decode_state(blob)


def test_the_tree_is_plain_json():
    blob = encode_state({"a": [1, 2.5, "x"]})
    head = blob[len(MAGIC):blob.index(b"\n", len(MAGIC))]
    assert json.loads(head) == {"tree": {"a": [1, 2.5, "x"]}, "numpy": 0, "torch": 0}
