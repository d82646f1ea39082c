"""Statistical timing shared by experiments and benchmarks: warm-ups, repeats, median and IQR."""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TimingResult:
    """Wall-clock seconds of repeated calls, summarised robustly."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return float(statistics.median(self.samples))

    @property
    def q1(self) -> float:
        return _quantile(self.samples, 0.25)

    @property
    def q3(self) -> float:
        return _quantile(self.samples, 0.75)

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def mean(self) -> float:
        return float(statistics.fmean(self.samples))

    @property
    def std(self) -> float:
        return float(statistics.stdev(self.samples)) if len(self.samples) > 1 else 0.0

    @property
    def min(self) -> float:
        return float(min(self.samples))

    def as_dict(self) -> dict[str, Any]:
        """Summary statistics and the raw samples, JSON-ready."""
        out = {k: getattr(self, k) for k in ("median", "q1", "q3", "iqr", "mean", "std", "min")}
        out.update(repeats=len(self.samples), samples=list(asdict(self)["samples"]))
        return out


def measure(
    fn: Callable[..., Any],
    *args: Any,
    warmup: int = 2,
    repeats: int = 10,
    threads: int | None = None,
    sync: str | Callable[[Any], Any] | None = None,
    min_time: float = 0.0,
    **kwargs: Any,
) -> TimingResult:
    """Time ``fn(*args, **kwargs)``: ``warmup`` untimed calls, then at least ``repeats`` timed ones.

    ``threads`` pins BLAS/OpenMP pools and torch's intra-op threads for the measurement;
    ``sync`` makes asynchronous devices honest: ``"cuda"`` synchronises torch before and after
    each call, ``"jax"`` blocks on the result, a callable is called with the result. Timed
    calls continue past ``repeats`` until ``min_time`` seconds have been spent.

    Example:
        >>> res = measure(sum, range(1000), warmup=1, repeats=5)
        >>> len(res.samples), res.median > 0
        (5, True)
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    after = _sync_function(sync)
    with pinned_threads(threads):
        for _ in range(warmup):
            after(fn(*args, **kwargs))
        samples: list[float] = []
        spent = 0.0
        while len(samples) < repeats or spent < min_time:
            after(None)
            start = time.perf_counter()
            after(fn(*args, **kwargs))
            elapsed = time.perf_counter() - start
            samples.append(elapsed)
            spent += elapsed
    return TimingResult(tuple(samples))


@contextlib.contextmanager
def pinned_threads(threads: int | None) -> Iterator[None]:
    """Limit BLAS/OpenMP (threadpoolctl) and torch intra-op threads inside the block."""
    if threads is None:
        yield
        return
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None and previous is not None:
                torch.set_num_threads(previous)


def _sync_function(sync: str | Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if sync is None:
        return lambda _result: None
    if callable(sync):
        return lambda result: None if result is None else sync(result)
    if sync == "cuda":
        import torch

        return lambda _result: torch.cuda.synchronize()
    if sync == "jax":
        import jax

        return lambda result: None if result is None else jax.block_until_ready(result)
    raise ValueError(f"sync must be None, 'cuda', 'jax' or a callable; got {sync!r}")


def _quantile(samples: tuple[float, ...], q: float) -> float:
    # linear interpolation between order statistics, as numpy.percentile's default
    ordered = sorted(samples)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
