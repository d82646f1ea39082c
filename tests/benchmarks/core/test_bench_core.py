"""Core benchmarks: import cost of labkit.core and checkpoint overhead, each beside a baseline.

Run with `labkit bench core` (or `pytest tests/benchmarks/core`). Compare the paired rows:
``import labkit.core`` against a bare interpreter start, and a checksummed atomic checkpoint
against a plain ``torch.save`` to a file.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def _python(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.benchmark(group="import")
def test_interpreter_start_baseline(benchmark):
    benchmark.pedantic(_python, args=("pass",), rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="import")
def test_import_labkit_core(benchmark):
    # the CLI's start-up cost: must stay far below importing torch or JAX
    benchmark.pedantic(_python, args=("import labkit.core",), rounds=5, iterations=1, warmup_rounds=1)


@pytest.mark.benchmark(group="import")
def test_import_torch_reference(benchmark):
    pytest.importorskip("torch")
    benchmark.pedantic(_python, args=("import torch",), rounds=3, iterations=1, warmup_rounds=1)


@pytest.fixture(scope="module")
def state():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.Linear(512, 512))  # ~2 MB of float32
    return {"model": model.state_dict()}


@pytest.mark.benchmark(group="checkpoint")
def test_plain_torch_save_baseline(benchmark, state, tmp_path):
    import torch

    benchmark(torch.save, state, tmp_path / "plain.pt")


@pytest.mark.benchmark(group="checkpoint")
def test_checkpointer_save(benchmark, state, tmp_path):
    from labkit.core import Checkpointer

    ck = Checkpointer(tmp_path, keep_last=3)
    counter = iter(range(10**9))
    benchmark(lambda: ck.save(next(counter), state))
