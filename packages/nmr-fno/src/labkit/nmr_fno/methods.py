"""The one table of simulation methods: name, implementation, memory estimator and flags.

`simulate`, the plugin's simulator hook, the memory guard, the timing code, the dataset generator
and the experiments all read :data:`METHOD_TABLE`; adding a method is one entry here. Flags:
``timed`` (in the classical timing sweeps), ``dataset`` (allowed for `generate_dataset`),
``optional`` (needs software that may be absent: never in default sweeps).
Light module: implementations load on first use.

Example:
    >>> methods_with("timed")
    ('exact', 'exact-full', 'krylov', 'chebyshev', 'dense-expm')
    >>> estimate_memory_bytes(10, "exact") < estimate_memory_bytes(10, "dense-expm")
    True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from math import comb
from typing import Any

__all__ = ["METHOD_TABLE", "MethodInfo", "estimate_memory_bytes", "guard_memory", "method_function", "methods_with"]

_BASE = 64 << 20  # interpreter, arrays of the grid, scratch


def _sizes(n: int) -> tuple[int, int, int]:
    sizes = [comb(n, k) for k in range(n + 1)]
    pair = max(sizes[k - 1] * sizes[k] for k in range(1, n + 1)) if n else 1
    return max(sizes), pair, 2**n


def _mem_blocks(n: int, n_times: int) -> int:
    # two sectors' eigenvectors + eigh workspace (~3 n^2) + intensity blocks (3 pairs) + phase tables
    nmax, pair, _ = _sizes(n)
    return 8 * (5 * nmax * nmax + 3 * pair + 4 * n_times * nmax) + _BASE


def _mem_full(n: int, n_times: int) -> int:
    return 8 * 8 * _sizes(n)[2] ** 2 + _BASE


def _mem_propagated(n: int, n_times: int) -> int:
    # complex propagated blocks (Y, W, Chebyshev recurrences) of one sector pair + sparse H
    nmax, pair, _ = _sizes(n)
    return 16 * 6 * pair + 24 * nmax * (1 + n * n // 4) + _BASE


def _mem_dense_expm(n: int, n_times: int) -> int:
    return 16 * 10 * _sizes(n)[2] ** 2 + _BASE


def _mem_unknown(n: int, n_times: int) -> int:
    return 0  # runs outside this process (MATLAB): nothing to guard here


@dataclass(frozen=True)
class MethodInfo:
    """One simulation method: implementation as "module:attr", peak-memory estimator, flags, summary."""

    name: str
    factory: str
    memory: Callable[[int, int], int]
    flags: frozenset[str]
    summary: str


def _m(name: str, factory: str, memory: Callable[[int, int], int], flags: set[str], summary: str) -> tuple[str, MethodInfo]:
    return name, MethodInfo(name, f"labkit.nmr_fno.{factory}", memory, frozenset(flags), summary)


METHOD_TABLE: dict[str, MethodInfo] = dict([
    _m("exact", "exact:simulate_exact", _mem_blocks, {"timed", "dataset"}, "eigh of each total-Fz sector, FID from neighbouring sector pairs (fastest)"),
    _m("exact-full", "dense:simulate_exact_full", _mem_full, {"timed", "dataset"}, "one eigh of the full 2^N Hamiltonian, no sectors (nmrsim's approach)"),
    _m("krylov", "iterative:simulate_krylov", _mem_propagated, {"timed", "dataset"}, "sparse sector H, expm_multiply step by step on operator blocks"),
    _m("chebyshev", "iterative:simulate_chebyshev", _mem_propagated, {"timed", "dataset"}, "sparse sector H, Chebyshev series, order from Gershgorin bounds and tol"),
    _m("dense-expm", "dense:simulate_dense_expm", _mem_dense_expm, {"timed", "dataset"}, "full 2^N expm(-iHt) at every time point: the original's slow reference"),
    _m("torch", "batch:simulate_one", _mem_blocks, {"dataset"}, "the batched torch sector-eigh path (simulate_batch) for one system"),
    _m("spinach", "spinach:simulate_spinach", _mem_unknown, {"optional"}, "MATLAB Spinach through matlab.engine, when importable (else an error)"),
])


def methods_with(flag: str) -> tuple[str, ...]:
    """Names of the methods carrying ``flag``, in table order."""
    return tuple(name for name, info in METHOD_TABLE.items() if flag in info.flags)


def _info(method: str) -> MethodInfo:
    if method not in METHOD_TABLE:
        raise ValueError(f"method: unknown simulation method {method!r}; choose one of {tuple(METHOD_TABLE)}")
    return METHOD_TABLE[method]


def method_function(method: str) -> Callable[..., Any]:
    """The implementation behind a method name (imported on first use: torch only for 'torch')."""
    module, attr = _info(method).factory.split(":")
    return getattr(importlib.import_module(module), attr)


def estimate_memory_bytes(n_spins: int, method: str, n_times: int = 300) -> int:
    """Peak working memory (bytes) of one simulation, from the block sizes each method holds at once."""
    return _info(method).memory(n_spins, n_times)


def guard_memory(n_spins: int, method: str, n_times: int, max_memory_bytes: int | None = None) -> int:
    """Refuse (MemoryLimitError) when the estimate exceeds the limit (default: 90% of available memory).

    The message suggests another exact method only if one fits, and never the one in use.
    """
    from .grid import MemoryLimitError, available_memory_bytes

    need = estimate_memory_bytes(n_spins, method, n_times)
    limit = int(0.9 * available_memory_bytes()) if max_memory_bytes is None else int(max_memory_bytes)
    if need > limit:
        fits = sorted((estimate_memory_bytes(n_spins, m, n_times), m) for m in methods_with("timed") if m != method)
        fits = [(b, m) for b, m in fits if b <= limit]
        hint = f"use fewer spins or the {fits[0][1]!r} method (about {fits[0][0] / 2**30:.2f} GiB)" if fits else "use fewer spins"
        raise MemoryLimitError(
            f"n_spins={n_spins} with method={method!r} needs about {need / 2**30:.2f} GiB "
            f"but only {limit / 2**30:.2f} GiB may be used; {hint}"
        )
    return need
