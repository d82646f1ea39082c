"""QIMADTorch on a CUDA device: device-side generator and state, determinism, resume, batched path."""

from __future__ import annotations

import io

import pytest
import torch

from labkit.qimad import QIMADTorch, functional_loss

pytestmark = pytest.mark.gpu


@pytest.fixture
def cuda():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    return torch.device("cuda")


def _task(device, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1)).to(device).double()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 10, generator=g, dtype=torch.float64).to(device)
    y = torch.sin(x.sum(1, keepdim=True))
    return model, x, y


def _run(device, steps, seed=3, batched=False, opt_state=None, model_state=None, start=0, k_eval=4, graph=False):
    model, x, y = _task(device)
    opt = QIMADTorch(model.parameters(), num_agents=6, k_eval=k_eval, seed=seed, gamma=0.2, eta=0.01,
                     total_steps=30, topology="ring")
    if model_state is not None:
        model.load_state_dict(model_state)
        opt.load_state_dict(opt_state)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    f = functional_loss(model, opt.params_in_order(), lambda out: torch.nn.functional.mse_loss(out, y), x)
    losses = [float(opt.step_batched(f, cuda_graph=graph) if batched else opt.step(closure)) for _ in range(steps)]
    return losses, opt, model


def test_state_and_generator_live_on_the_device(cuda):
    losses, opt, _ = _run(cuda, 10)
    assert opt._gen.device.type == "cuda"
    assert all(t.device.type == "cuda" for t in opt.agent_params())
    assert all(t.device.type == "cuda" for b in opt._buffers for t in (b.store, b.square_avg, b.grad, b.live))
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0]


def test_cuda_determinism_and_resume_bit_identical(cuda):
    straight, opt_a, _ = _run(cuda, 20)
    again, _, _ = _run(cuda, 20)
    assert straight == again
    first, opt_c, model_c = _run(cuda, 8)
    buf = io.BytesIO()
    torch.save({"opt": opt_c.state_dict(), "model": model_c.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    rest, opt_d, _ = _run(cuda, 12, seed=999, opt_state=saved["opt"], model_state=saved["model"])
    assert first + rest == straight
    for a, b in zip(opt_a.agent_params(), opt_d.agent_params(), strict=True):
        assert torch.equal(a, b)


def test_cuda_batched_matches_sequential(cuda):
    seq, opt_s, _ = _run(cuda, 15)
    bat, opt_b, _ = _run(cuda, 15, batched=True)
    assert seq == pytest.approx(bat, rel=1e-9)
    for a, b in zip(opt_s.agent_params(), opt_b.agent_params(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-9)


def test_cuda_graph_replays_the_uncaptured_batched_step(cuda):
    eager, opt_e, _ = _run(cuda, 15, batched=True, k_eval=None)
    graph, opt_g, _ = _run(cuda, 15, batched=True, k_eval=None, graph=True)
    assert graph == pytest.approx(eager, rel=1e-12)
    for a, b in zip(opt_e.agent_params(), opt_g.agent_params(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match="cuda_graph"):
        _run(cuda, 1, batched=True, k_eval=4, graph=True)


def test_closure_may_return_host_numbers_on_cuda(cuda):
    model, x, y = _task(cuda)
    opt = QIMADTorch(model.parameters(), num_agents=3, seed=0)
    calls = iter(range(100))

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return float("nan") if next(calls) % 3 == 1 else loss  # a host float among device tensors

    best = [float(opt.step(closure)) for _ in range(4)]
    assert all(b == b for b in best) and best == sorted(best, reverse=True)


def test_cpu_state_refused_on_cuda(cuda):
    _, opt_cpu, _ = _run(torch.device("cpu"), 2)
    _, opt_gpu, _ = _run(cuda, 1)
    with pytest.raises(ValueError, match="generator"):
        opt_gpu.load_state_dict(opt_cpu.state_dict())
