"""Protocols, loss combination and JSON conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.core import LossResult, Model, Simulator, combine_losses
from labkit.core.jsonable import to_jsonable


def test_combine_losses_weights_and_components():
    result = combine_losses({"mse": np.float64(2.0), "nll": np.float64(4.0), "mmd": 1.0}, weights={"nll": 0.25, "mmd": 0.0})
    assert isinstance(result, LossResult)
    assert result.total == pytest.approx(3.0)
    assert result.components == {"mse": 2.0, "nll": 4.0, "mmd": 1.0}


def test_combine_losses_refuses_unknown_weights_and_empty():
    with pytest.raises(ValueError, match=r"unknown terms \['nl'\]"):
        combine_losses({"nll": 1.0}, weights={"nl": 2.0})
    with pytest.raises(ValueError, match="at least one"):
        combine_losses({})


def test_combine_losses_keeps_autograd():
    torch = pytest.importorskip("torch")
    x = torch.tensor(2.0, requires_grad=True)
    combine_losses({"a": x**2, "b": 3 * x}, weights={"b": 0.5}).total.backward()
    assert x.grad.item() == pytest.approx(4.0 + 1.5)


def test_protocols_are_structural():
    torch = pytest.importorskip("torch")
    assert isinstance(torch.nn.Linear(1, 1), Model)

    class Sim:
        def simulate(self, params):
            return params

    assert isinstance(Sim(), Simulator) and not isinstance(object(), Simulator)


def test_to_jsonable_handles_arrays_scalars_and_nonfinite():
    out = to_jsonable({"a": np.float32(0.5), "b": np.arange(2), "c": (1, 2), "d": float("nan"), "e": 1 + 2j})
    assert out["a"] == 0.5 and out["b"] == [0, 1] and out["c"] == [1, 2] and math.isnan(out["d"])
    assert out["e"] == {"real": 1.0, "imag": 2.0}
    with pytest.raises(TypeError, match="cannot convert object"):
        to_jsonable(object())
