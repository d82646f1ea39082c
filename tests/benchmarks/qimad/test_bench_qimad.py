"""QIMAD speed: vectorised step vs a sequential reference and vs Adam at equal closure calls; overhead; GPU batching.

Run with ``labkit bench qimad`` or ``pytest tests/benchmarks/qimad``. Read the rows of one group
side by side (same run, same machine). ``extra_info`` carries the derived ratios:
``overhead_ratio`` = (step time - closure time) / closure time at 8 agents on a ~5k-parameter MLP.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import time

import pytest
import torch

from labkit.qimad import QIMADTorch, functional_loss

AGENTS = 8


@pytest.fixture(autouse=True)
def one_thread():
    """Small models: extra intra-op threads only add contention (and swing timings by 10x on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _reference_cls():
    path = pathlib.Path(__file__).resolve().parents[2] / "qimad" / "reference_qimad.py"
    name = "labkit_tests_qimad_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].ReferenceQIMAD


def mlp_task(device="cpu", batch=256, seed=0):
    """A 20-64-48-10 MLP (4,954 parameters) on a fixed random classification batch."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.Tanh(), torch.nn.Linear(64, 48), torch.nn.Tanh(),
                                torch.nn.Linear(48, 10)).to(device)
    x = torch.randn(batch, 20, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    return model, x, y


def make_closure(model, opt, x, y):
    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss
    return closure


def test_mlp_size():
    model, _, _ = mlp_task()
    assert 4_900 <= sum(p.numel() for p in model.parameters()) <= 5_100


@pytest.mark.benchmark(group="step-8-closures")
def test_qimad_step(benchmark):
    model, x, y = mlp_task()
    opt = QIMADTorch(model.parameters(), num_agents=AGENTS, seed=0, total_steps=10_000)
    benchmark(opt.step, make_closure(model, opt, x, y))


@pytest.mark.benchmark(group="step-8-closures")
def test_sequential_reference_step(benchmark):
    model, x, y = mlp_task()
    opt = QIMADTorch(model.parameters(), num_agents=AGENTS, seed=0)  # only for its adjacency and zero_grad
    ref = _reference_cls()([{"params": list(model.parameters()), "eta": 0.05}], opt._adjacency.tolist(),
                           num_agents=AGENTS, seed=0, total_steps=10_000)
    benchmark(ref.step, make_closure(model, opt, x, y))


@pytest.mark.benchmark(group="step-8-closures")
def test_adam_eight_steps(benchmark):
    model, x, y = mlp_task()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    closure = make_closure(model, opt, x, y)

    def eight():
        for _ in range(AGENTS):
            opt.step(closure)

    benchmark(eight)


@pytest.mark.benchmark(group="step-8-closures")
def test_eight_closures_alone(benchmark):
    model, x, y = mlp_task()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    closure = make_closure(model, opt, x, y)

    def eight():
        for _ in range(AGENTS):
            closure()

    benchmark(eight)


def _median_time(fn, repeats=15, warmup=2, clock=time.perf_counter):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return sorted(samples)[len(samples) // 2]


@pytest.mark.benchmark(group="overhead")
@pytest.mark.parametrize("batch", [256, 1024])
def test_optimizer_overhead_ratio(benchmark, batch):
    """Step time minus 8 closure calls, relative to the closure time, interleaved in one run.

    The closure here is forward + backward only: QIMAD zeroes each agent's gradient itself, and a
    ``zero_grad()`` inside the closure would cost differently inside and outside ``step`` (in-place
    zeroing of one row there, torch's set-to-None loop here), which would flatter the ratio.
    The overhead is a cost per step that does not grow with the batch: batch 256 is the headline
    figure, batch 1024 shows how the ratio falls as the closure grows.
    """
    model, x, y = mlp_task(batch=batch)
    opt = QIMADTorch(model.parameters(), num_agents=AGENTS, seed=0, total_steps=10_000)

    def closure():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    def eight():
        for _ in range(AGENTS):
            closure()

    runs = []
    for _ in range(5):  # interleave so machine load hits both alike; CPU time resists a busy machine
        t_step = _median_time(lambda: opt.step(closure), repeats=15, clock=time.process_time)
        t_clo = _median_time(eight, repeats=15, clock=time.process_time)
        runs.append(((t_step - t_clo) / t_clo, t_step - t_clo))
    ratio, overhead_s = sorted(runs)[2]
    benchmark.extra_info.update(overhead_ratio=ratio, overhead_s=overhead_s)
    print(f"\nQIMAD optimizer overhead at {AGENTS} agents, 4,954 params, batch {batch}: "
          f"{100 * ratio:.1f}% of closure time ({1e6 * overhead_s:.0f} us per step)")
    benchmark(opt.step, closure)


def _batched_vs_sequential(device, agents=AGENTS, cuda_graph=False):
    model, x, y = mlp_task(device=device)
    opt = QIMADTorch(model.parameters(), num_agents=agents, seed=0, total_steps=10_000)
    closure = make_closure(model, opt, x, y)
    f = functional_loss(model, opt.params_in_order(), lambda out: torch.nn.functional.cross_entropy(out, y), x)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def seq():
        opt.step(closure)
        sync()

    def bat():
        opt.step_batched(f, cuda_graph=cuda_graph)
        sync()

    t_seq = _median_time(seq)
    t_bat = _median_time(bat)
    return t_seq, t_bat


@pytest.mark.benchmark(group="batched")
def test_batched_vs_sequential_cpu(benchmark):
    t_seq, t_bat = _batched_vs_sequential("cpu")
    benchmark.extra_info.update(seq_s=t_seq, batched_s=t_bat, speedup=t_seq / t_bat)
    print(f"\nCPU: sequential {1e3 * t_seq:.2f} ms, batched {1e3 * t_bat:.2f} ms, {t_seq / t_bat:.2f}x")
    benchmark(lambda: None)


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True], ids=["vmap", "vmap+graph"])
@pytest.mark.parametrize("agents", [8, 32])
@pytest.mark.benchmark(group="batched")
def test_batched_vs_sequential_gpu(benchmark, agents, cuda_graph):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    t_seq, t_bat = _batched_vs_sequential("cuda", agents, cuda_graph)
    benchmark.extra_info.update(seq_s=t_seq, batched_s=t_bat, speedup=t_seq / t_bat)
    print(f"\nGPU {agents} agents{' (CUDA graph)' if cuda_graph else ''}: sequential {1e3 * t_seq:.2f} ms, "
          f"batched {1e3 * t_bat:.2f} ms, {t_seq / t_bat:.2f}x")
    assert t_seq / t_bat > 1.0
    benchmark(lambda: None)
