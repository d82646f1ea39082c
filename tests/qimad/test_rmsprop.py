"""The agents' RMSProp arithmetic: the fused one-pass kernel against torch.optim.RMSprop's op sequence."""

from __future__ import annotations

import pytest
import torch

from labkit.qimad import _rmsprop
from labkit.qimad._rmsprop import rmsprop_exact_, rmsprop_fused_


def _state(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(6, 1000, generator=g, dtype=dtype)
    grad = torch.randn(6, 1000, generator=g, dtype=dtype) * torch.logspace(-6, 1, 1000, dtype=dtype)
    square_avg = torch.rand(6, 1000, generator=g, dtype=dtype) * 1e-3
    square_avg[0] = 0.0  # a fresh accumulator
    return theta, grad, square_avg


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_step_matches_rmsprop_to_an_ulp(dtype):
    """Same formula, rounded in another order: one step agrees to a few ulps of the weights and the step."""
    exact = _state(dtype)
    fused = tuple(t.clone() for t in exact)
    start = exact[0].clone()
    rmsprop_exact_(*exact, lr=0.05)
    rmsprop_fused_(*fused, lr=0.05)
    ulp = torch.finfo(dtype).eps
    scale = start.abs() + (exact[0] - start).abs()
    assert bool(((fused[0] - exact[0]).abs() <= 4 * ulp * scale).all())
    torch.testing.assert_close(fused[2], exact[2], rtol=2 * ulp, atol=0.0)  # the accumulator
    assert torch.equal(fused[1], exact[1])  # the gradient doubles as Adam's first moment and comes back unchanged
    assert (fused[0] - start).abs().max() > 0.01  # it moved


def test_exact_step_is_torch_rmsprop_bitwise():
    theta, grad, square_avg = _state(torch.float32, seed=1)
    p = torch.nn.Parameter(theta.clone())
    ref = torch.optim.RMSprop([p], lr=0.05, alpha=0.99, eps=1e-8, foreach=False)
    ref.state[p]["square_avg"] = square_avg.clone()
    ref.state[p]["step"] = torch.tensor(3.0)
    p.grad = grad.clone()
    ref.step()
    rmsprop_exact_(theta, grad, square_avg, lr=0.05)
    assert torch.equal(theta, p.detach())
    assert torch.equal(square_avg, ref.state[p]["square_avg"])


def test_without_a_fused_kernel_the_exact_path_runs(monkeypatch):
    def unavailable(*args, **kwargs):
        raise NotImplementedError("no fused Adam for this backend")

    monkeypatch.setattr(torch, "_fused_adam_", unavailable)
    monkeypatch.setattr(_rmsprop, "_unfused", set())
    fused, exact = _state(torch.float64, seed=2), _state(torch.float64, seed=2)
    rmsprop_fused_(*fused, lr=0.05)
    rmsprop_exact_(*exact, lr=0.05)
    assert ("cpu", torch.float64) in _rmsprop._unfused  # remembered: no second failing call
    for a, b in zip(fused, exact, strict=True):
        assert torch.equal(a, b)
