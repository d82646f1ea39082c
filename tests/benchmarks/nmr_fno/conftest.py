"""Shared fixtures of the nmr-fno benchmarks."""

from __future__ import annotations

import pytest

from labkit.core.timing import pinned_threads


@pytest.fixture
def one_torch_thread():
    """torch and BLAS pinned to one thread for the test (ratios on a shared box), restored afterwards."""
    pytest.importorskip("torch")
    with pinned_threads(1):
        yield
