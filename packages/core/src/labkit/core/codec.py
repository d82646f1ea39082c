"""A state codec that cannot execute code: arrays through safetensors, everything else as tagged JSON.

``pickle`` and ``torch.load(weights_only=False)`` run code stored in the file, so a run
folder that is shared, copied or downloaded must never be loaded that way. This codec
stores numpy arrays (and JAX arrays, as numpy) with ``safetensors.numpy``, torch tensors
with ``safetensors.torch`` (torch is imported only when the tree holds tensors, on save
and on load), and the rest of the tree as JSON with a few type tags, so the values that
checkpoints hold round-trip exactly: dicts with non-string keys, tuples, bytes, numpy
scalars, non-finite floats, ``OrderedDict`` state dicts, torch dtypes and devices.
Anything else (an arbitrary object) is refused on save rather than pickled.

Layout: ``LABKIT-STATE 1\\n``, one JSON line ``{"tree": ..., "numpy": n, "torch": m}``,
then ``n`` bytes of numpy safetensors and ``m`` bytes of torch safetensors.

Example:
    >>> import numpy as np
    >>> blob = encode_state({"w": np.arange(3.0), 1: (b"ok", float("nan"))})
    >>> back = decode_state(blob)
    >>> back["w"].tolist(), back[1][0]
    ([0.0, 1.0, 2.0], b'ok')
"""

from __future__ import annotations

import base64
import json
import math
import sys
from collections import OrderedDict
from typing import Any

__all__ = ["StateDecodeError", "decode_state", "encode_state"]

MAGIC = b"LABKIT-STATE 1\n"
_TAG = "$t"


class StateDecodeError(ValueError):
    """A blob that is not a valid encoded state (truncated, altered or not one at all)."""


def encode_state(tree: Any) -> bytes:
    """Encode a tree of plain values, numpy/JAX arrays and torch tensors; refuse anything else.

    Example:
        >>> decode_state(encode_state({"step": 3, "lr": 0.1}))
        {'step': 3, 'lr': 0.1}
    """
    arrays: dict[str, Any] = {}
    tensors: dict[str, Any] = {}
    encoded = _Encoder(arrays, tensors).encode(tree, "state")
    numpy_blob = b""
    if arrays:
        from safetensors.numpy import save

        numpy_blob = save(arrays)
    torch_blob = b""
    if tensors:
        from safetensors.torch import save as save_torch

        torch_blob = save_torch(tensors)
    head = json.dumps({"tree": encoded, "numpy": len(numpy_blob), "torch": len(torch_blob)}, allow_nan=False)
    return MAGIC + head.encode("utf-8") + b"\n" + numpy_blob + torch_blob


def decode_state(blob: bytes) -> Any:
    """Decode what :func:`encode_state` wrote; raise :class:`StateDecodeError` on anything else.

    Tensors come back on the CPU. torch is imported only if the blob holds tensors.
    """
    if not blob.startswith(MAGIC):
        raise StateDecodeError("not a labkit state (bad magic)")
    end = blob.find(b"\n", len(MAGIC))
    if end < 0:
        raise StateDecodeError("truncated state header")
    try:
        head = json.loads(blob[len(MAGIC):end])
        n_numpy, n_torch, tree = int(head["numpy"]), int(head["torch"]), head["tree"]
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise StateDecodeError(f"unreadable state header ({type(exc).__name__})") from None
    body = blob[end + 1:]
    if n_numpy < 0 or n_torch < 0 or len(body) != n_numpy + n_torch:
        raise StateDecodeError(f"state body holds {len(body)} bytes, its header announces {n_numpy} + {n_torch}")
    try:
        arrays: dict[str, Any] = {}
        if n_numpy:
            from safetensors.numpy import load

            arrays = load(body[:n_numpy])
        tensors: dict[str, Any] = {}
        if n_torch:
            from safetensors.torch import load as load_torch

            tensors = load_torch(body[n_numpy:])
        return _Decoder(arrays, tensors).decode(tree)
    except StateDecodeError:
        raise
    except RecursionError:
        raise StateDecodeError("state tree nested too deeply") from None
    except Exception as exc:  # safetensors raises its own error types on bad input
        raise StateDecodeError(f"unreadable state ({type(exc).__name__}: {exc})") from None


class _Encoder:
    def __init__(self, arrays: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.arrays, self.tensors = arrays, tensors

    def encode(self, obj: Any, where: str) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {_TAG: "float", "v": repr(float(obj))}
        if isinstance(obj, complex):
            return {_TAG: "complex", "v": [self.encode(obj.real, where), self.encode(obj.imag, where)]}
        if isinstance(obj, (bytes, bytearray)):
            return {_TAG: "bytes", "v": base64.b64encode(bytes(obj)).decode("ascii")}
        if isinstance(obj, dict):
            return self._mapping(obj, where)
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            return {_TAG: "tuple", "v": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, (set, frozenset)):
            return {_TAG: type(obj).__name__, "v": [self.encode(v, where) for v in sorted(obj, key=repr)]}
        module = type(obj).__module__
        if module.startswith(("jax", "jaxlib")):
            import numpy as np

            return self._array(np.asarray(obj), where)
        if module == "numpy":
            import numpy as np

            if isinstance(obj, np.ndarray):
                return self._array(obj, where)
            if isinstance(obj, np.generic):
                return {_TAG: "npscalar", "v": self._array(np.asarray(obj), where)}
        torch = sys.modules.get("torch")
        if torch is not None:
            if isinstance(obj, torch.Tensor):
                return self._tensor(obj, where)
            if isinstance(obj, torch.dtype):
                return {_TAG: "torch.dtype", "v": str(obj).removeprefix("torch.")}
            if isinstance(obj, torch.device):
                return {_TAG: "torch.device", "v": str(obj)}
            if isinstance(obj, torch.Size):
                return {_TAG: "tuple", "v": [int(v) for v in obj]}
        raise TypeError(f"{where}: cannot store a {module}.{type(obj).__qualname__} in a checkpoint "
                        "(only plain values, numpy/JAX arrays and torch tensors; no arbitrary objects)")

    def _mapping(self, obj: dict[Any, Any], where: str) -> Any:
        plain = type(obj) is dict and all(isinstance(k, str) for k in obj) and _TAG not in obj
        if plain:
            return {k: self.encode(v, f"{where}.{k}") for k, v in obj.items()}
        items = [[self.encode(k, where), self.encode(v, f"{where}[{k!r}]")] for k, v in obj.items()]
        out: dict[str, Any] = {_TAG: "odict" if isinstance(obj, OrderedDict) else "dict", "v": items}
        meta = getattr(obj, "_metadata", None)  # torch keeps module versions on state_dict()'s OrderedDict
        if isinstance(obj, OrderedDict) and isinstance(meta, dict):
            out["meta"] = self.encode(dict(meta), where + "._metadata")
        return out

    def _array(self, arr: Any, where: str) -> Any:
        import numpy as np

        if arr.dtype.kind in "OUSVMm":
            raise TypeError(f"{where}: numpy arrays of dtype {arr.dtype} cannot be stored in a checkpoint")
        key = str(len(self.arrays))
        # asarray, not ascontiguousarray: the latter turns 0-d arrays into 1-d ones
        native = np.asarray(arr, dtype=arr.dtype.newbyteorder("="), order="C")
        if native.dtype.kind == "c":
            self.arrays[key] = np.asarray(native.reshape(-1).view(native.real.dtype), order="C")
            return {_TAG: "ndarray", "ref": key, "complex": str(native.dtype), "shape": list(native.shape)}
        self.arrays[key] = native
        return {_TAG: "ndarray", "ref": key}

    def _tensor(self, t: Any, where: str) -> Any:
        import torch

        if t.layout != torch.strided:
            raise TypeError(f"{where}: a {t.layout} tensor cannot be stored in a checkpoint")
        key = str(len(self.tensors))
        data = t.detach().cpu()
        out: dict[str, Any] = {_TAG: "tensor", "ref": key}
        if data.is_complex():
            out["complex"] = True
            data = torch.view_as_real(data.resolve_conj())
        # a copy: safetensors refuses tensors that share storage (views of one buffer)
        self.tensors[key] = data.contiguous().clone()
        return out


class _Decoder:
    def __init__(self, arrays: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.arrays, self.tensors = arrays, tensors

    def decode(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, list):
            return [self.decode(v) for v in obj]
        if not isinstance(obj, dict):
            raise StateDecodeError(f"unexpected JSON value of type {type(obj).__name__}")
        tag = obj.get(_TAG)
        if tag is None:
            return {k: self.decode(v) for k, v in obj.items()}
        value = obj.get("v")
        if tag == "float":
            if value not in ("nan", "inf", "-inf"):
                raise StateDecodeError(f"bad float tag {value!r}")
            return float(value)
        if tag == "complex":
            real, imag = (self.decode(v) for v in self._list(value, 2))
            return complex(real, imag)
        if tag == "bytes":
            try:
                return base64.b64decode(str(value), validate=True)
            except ValueError:
                raise StateDecodeError("bad base64 in a bytes value") from None
        if tag == "tuple":
            return tuple(self.decode(v) for v in self._list(value))
        if tag in ("set", "frozenset"):
            items = [self.decode(v) for v in self._list(value)]
            return set(items) if tag == "set" else frozenset(items)
        if tag in ("dict", "odict"):
            pairs = [self._list(p, 2) for p in self._list(value)]
            out = (OrderedDict if tag == "odict" else dict)((self.decode(k), self.decode(v)) for k, v in pairs)
            if tag == "odict" and "meta" in obj:
                out._metadata = self.decode(obj["meta"])  # type: ignore[attr-defined]
            return out
        if tag == "ndarray":
            return self._ndarray(obj)
        if tag == "npscalar":
            arr = self.decode(value)
            if getattr(arr, "ndim", None) != 0:
                raise StateDecodeError("a numpy scalar must be stored as a 0-d array")
            return arr[()]
        if tag == "tensor":
            return self._tensor(obj)
        if tag in ("torch.dtype", "torch.device"):
            import torch

            if tag == "torch.device":
                return torch.device(str(value))
            dtype = getattr(torch, str(value), None)
            if not isinstance(dtype, torch.dtype):
                raise StateDecodeError(f"unknown torch dtype {value!r}")
            return dtype
        raise StateDecodeError(f"unknown type tag {tag!r}")

    @staticmethod
    def _list(value: Any, length: int | None = None) -> list[Any]:
        if not isinstance(value, list) or (length is not None and len(value) != length):
            raise StateDecodeError("malformed tagged value")
        return value

    def _ndarray(self, obj: dict[str, Any]) -> Any:
        import numpy as np

        arr = self.arrays.get(str(obj.get("ref")))
        if arr is None:
            raise StateDecodeError(f"array {obj.get('ref')!r} is missing from the state body")
        if "complex" in obj:
            dtype = np.dtype(str(obj["complex"]))
            if dtype.kind != "c":
                raise StateDecodeError(f"bad complex dtype {obj['complex']!r}")
            arr = np.asarray(arr, order="C").view(dtype).reshape([int(n) for n in self._list(obj.get("shape"))])
        return arr

    def _tensor(self, obj: dict[str, Any]) -> Any:
        t = self.tensors.get(str(obj.get("ref")))
        if t is None:
            raise StateDecodeError(f"tensor {obj.get('ref')!r} is missing from the state body")
        if obj.get("complex"):
            import torch

            t = torch.view_as_complex(t)
        return t
