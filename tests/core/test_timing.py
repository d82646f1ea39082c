"""Statistical timer: repeats, robust statistics matching numpy, thread pinning, sync hooks."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.core import measure
from labkit.core.timing import TimingResult, pinned_threads


def test_counts_warmups_and_repeats():
    calls = []
    res = measure(lambda: calls.append(1), warmup=3, repeats=7)
    assert len(calls) == 10 and len(res.samples) == 7


def test_statistics_match_numpy():
    samples = (0.3, 0.1, 0.4, 0.1, 0.5, 0.9, 0.2)
    res = TimingResult(samples)
    assert res.median == pytest.approx(np.median(samples))
    assert res.q1 == pytest.approx(np.percentile(samples, 25))
    assert res.q3 == pytest.approx(np.percentile(samples, 75))
    assert res.std == pytest.approx(np.std(samples, ddof=1))
    assert res.as_dict()["repeats"] == 7


def test_min_time_extends_repeats():
    res = measure(lambda: sum(range(2000)), warmup=0, repeats=1, min_time=0.01)
    assert sum(res.samples) >= 0.01


def test_sync_callable_sees_each_result():
    seen = []
    measure(lambda: 5, warmup=1, repeats=2, sync=seen.append)
    assert seen == [5, 5, 5]


def test_pinned_threads_restores_torch_threads():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    with pinned_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        measure(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="sync"):
        measure(lambda: None, sync="tpu")
    with pytest.raises(ValueError, match="threads"):
        measure(lambda: None, threads=0)
