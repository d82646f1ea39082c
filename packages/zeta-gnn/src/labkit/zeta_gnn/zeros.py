"""Ordinates of the nontrivial zeros of the Riemann zeta function, computed once and cached.

The default backend is python-flint's ``acb.zeta_zeros`` (Arb: Gram/Rosser isolation with a
Turing-method count check, so no zero is missed and every ordinate carries a rigorous error ball).
mpmath's ``zetazero`` is the slow fallback. Work is cut into aligned chunks that run in separate
processes; each finished chunk is written to the disk cache at once, so an interrupted call loses
at most the chunks in flight.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from labkit.zeta_gnn._cache import ZeroCache, default_cache_dir
from labkit.zeta_gnn.tables import shipped_zeros

__all__ = ["BACKENDS", "ZeroComputationError", "compute_zeros", "zeta_zeros"]

BACKENDS = ("auto", "flint", "mpmath")
#: a computed ordinate is accepted only if its rigorous error radius is below this
MAX_RADIUS = 1e-10


class ZeroComputationError(RuntimeError):
    """A backend failed to deliver zeros at the required accuracy."""


def _check_range(start: int, count: int) -> None:
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 1:
        raise ValueError(f"start: zeros are numbered from 1, got {start!r}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count: must be an integer >= 1, got {count!r}")


def _height_estimate(n: int) -> float:
    # Gram-point style estimate, only used to pick a working precision
    from labkit.zeta_gnn.baseline import smooth_zeros

    return float(smooth_zeros(np.array([max(n, 1)]))[0])


def _flint_zeros(start: int, count: int) -> np.ndarray:
    """Zeros ``start .. start+count-1`` from Arb with a precision that keeps radii below 1e-10."""
    import flint

    top = _height_estimate(start + count)
    # the ordinate needs ~log2(t) integer bits plus ~40 fractional bits for a 1e-12 ball
    prec = max(53, 44 + math.ceil(math.log2(max(top, 2.0))))
    old = flint.ctx.prec
    try:
        for _attempt in range(3):
            flint.ctx.prec = prec
            roots = flint.acb.zeta_zeros(int(start), int(count))
            radius = max(float(r.imag.rad()) for r in roots)
            if radius <= MAX_RADIUS:
                return np.array([float(r.imag.mid()) for r in roots], dtype=np.float64)
            prec += 32
    finally:
        flint.ctx.prec = old
    raise ZeroComputationError(
        f"flint: zeros {start}..{start + count - 1} error radius {radius:.2e} > {MAX_RADIUS:g}"
    )


def _mpmath_zeros(start: int, count: int) -> np.ndarray:
    """Zeros one by one through ``mpmath.zetazero`` (about a second per zero near n = 1e4)."""
    import mpmath

    with mpmath.workdps(25):
        return np.array(
            [float(mpmath.zetazero(n).imag) for n in range(start, start + count)], dtype=np.float64
        )


def _backend_fn(backend: str) -> tuple[str, Callable[[int, int], np.ndarray]]:
    """(resolved backend name, function); globals are looked up at call time so tests can wrap them."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: must be one of {BACKENDS}, got {backend!r}")
    if backend == "mpmath":
        return "mpmath", _mpmath_zeros
    try:
        import flint  # noqa: F401
    except ImportError:
        if backend == "flint":
            raise ZeroComputationError("backend 'flint' asked for but python-flint is not installed") from None
        return "mpmath", _mpmath_zeros
    return "flint", _flint_zeros


def compute_zeros(
    start: int, count: int, *, backend: str = "auto", workers: int | None = None,
    chunk_size: int = 1000,
) -> np.ndarray:
    """Compute zeros ``start .. start+count-1`` with no cache, split over processes.

    Example:
        >>> compute_zeros(1, 2, backend="flint").round(6).tolist()
        [14.134725, 21.02204]
    """
    _check_range(start, count)
    _name, fn = _backend_fn(backend)
    pieces = [(s, min(chunk_size, start + count - s)) for s in range(start, start + count, chunk_size)]
    results = _run_pieces(fn, pieces, workers, on_done=None)
    return np.concatenate([results[p] for p in pieces])


def _run_pieces(
    fn: Callable[[int, int], np.ndarray], pieces: Sequence[tuple[int, int]], workers: int | None,
    on_done: Callable[[tuple[int, int], np.ndarray], None] | None,
) -> dict[tuple[int, int], np.ndarray]:
    """Run ``fn(start, count)`` for every piece, in processes when there is more than one."""
    out: dict[tuple[int, int], np.ndarray] = {}
    n_workers = min(workers or os.cpu_count() or 1, len(pieces))
    if n_workers <= 1:
        for piece in pieces:
            out[piece] = fn(*piece)
            if on_done is not None:
                on_done(piece, out[piece])
        return out
    # spawn: the caller may have torch loaded, and forking a threaded process is unsafe
    with ProcessPoolExecutor(n_workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(fn, *piece): piece for piece in pieces}
        for fut in as_completed(futures):
            piece = futures[fut]
            out[piece] = fut.result()
            if on_done is not None:
                on_done(piece, out[piece])  # saved as soon as done: an interruption keeps it
    return out


def zeta_zeros(
    start: int, count: int, *, backend: str = "auto", cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True, workers: int | None = None, chunk_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Ordinates of zeta zeros ``start .. start+count-1`` (1-based) as float64, |error| <= 1e-9.

    Zeros inside the table shipped with the package are read from it; the rest come from the
    disk cache (``cache_dir`` argument, else ``$LABKIT_ZETA_CACHE``, else the user cache dir)
    or are computed in aligned chunks of ``chunk_size`` and cached as each chunk finishes.
    ``progress`` is called with the number of zeros of each chunk as it completes.

    Example:
        >>> round(float(zeta_zeros(1, 1)[0]), 10)
        14.1347251417
    """
    _check_range(start, count)
    name, fn = _backend_fn(backend)
    stop = start + count  # exclusive
    out = np.empty(count, dtype=np.float64)
    filled = np.zeros(count, dtype=bool)
    if backend != "mpmath":  # asking for mpmath explicitly means: recompute, to cross-check
        table = shipped_zeros()
        hi = min(stop, table.size + 1)
        if hi > start:
            out[: hi - start] = table[start - 1 : hi - 1]
            filled[: hi - start] = True
            if progress is not None:
                progress(hi - start)
    if filled.all():
        return out
    first_missing = start + int(np.argmin(filled))
    if not use_cache:
        out[first_missing - start :] = compute_zeros(
            first_missing, stop - first_missing, backend=backend, workers=workers, chunk_size=chunk_size
        )
        return out
    cache = ZeroCache(cache_path_for(cache_dir), chunk_size, backend=name)
    chunks = range((first_missing - 1) // chunk_size, (stop - 2) // chunk_size + 1)
    todo: list[tuple[int, int]] = []
    for k in chunks:
        values = cache.load(k)
        if values is None:
            todo.append((k * chunk_size + 1, chunk_size))
            continue
        _place(out, start, stop, k * chunk_size + 1, values)
        if progress is not None:
            progress(values.size)

    def save(piece: tuple[int, int], values: np.ndarray) -> None:
        cache.save((piece[0] - 1) // chunk_size, values)
        if progress is not None:
            progress(values.size)

    for (s, _c), values in _run_pieces(fn, todo, workers, on_done=save).items():
        _place(out, start, stop, s, values)
    return out


def _place(out: np.ndarray, start: int, stop: int, chunk_start: int, values: np.ndarray) -> None:
    lo, hi = max(start, chunk_start), min(stop, chunk_start + values.size)
    if hi > lo:
        out[lo - start : hi - start] = values[lo - chunk_start : hi - chunk_start]


def cache_path_for(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder that :func:`zeta_zeros` would use."""
    return Path(cache_dir) if cache_dir is not None else default_cache_dir()
