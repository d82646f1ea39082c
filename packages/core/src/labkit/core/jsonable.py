"""Conversion of results (numpy, torch, JAX values, dataclasses, paths) to plain JSON types."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Return ``obj`` with every value turned into a JSON type (non-finite floats kept as NaN/Infinity).

    Example:
        >>> import numpy as np
        >>> to_jsonable({"x": np.float32(1.5), "v": np.arange(3)})
        {'x': 1.5, 'v': [0, 1, 2]}
    """
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor
        obj = obj.detach().cpu().numpy()
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy / JAX arrays and scalars
        value = obj.tolist()
        return to_jsonable(value) if isinstance(value, (list, tuple)) else _scalar(value)
    if isinstance(obj, complex):
        return {"real": obj.real, "imag": obj.imag}
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON")


def _scalar(value: Any) -> Any:
    if isinstance(value, complex):
        return {"real": value.real, "imag": value.imag}
    if isinstance(value, float) and not math.isfinite(value):
        return value
    return value
