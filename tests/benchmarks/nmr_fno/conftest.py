"""Shared fixtures of the nmr-fno benchmarks."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_torch_thread():
    """torch pinned to one intra-op thread for the test (ratios on a shared box), restored afterwards."""
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
