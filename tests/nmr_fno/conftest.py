"""Shared fixtures of the nmr-fno tests."""

from __future__ import annotations

import pytest

from labkit.core.timing import pinned_threads


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """2 shared cores: oversubscribed intra-op threads make tiny torch ops ~50x slower."""
    pytest.importorskip("torch")
    with pinned_threads(1):
        yield
