"""The surrogate's fixed task: a 1 s, 512-point FID of chains, rings and random graphs, 1 Hz-broadened.

Grid: t_m = m / 512 s, m = 0..511 (t in [0, 1) s, 1 Hz digital resolution, Nyquist 256 Hz). Systems:
offsets uniform in +-100 Hz, |J| uniform in 5-20 Hz on the edges of a chain, a ring or a random graph
(a spanning chain plus every other pair with probability 0.35). Lines of such systems lie within
about +-(100 + 2 * 20) Hz, inside the Nyquist band. Broadening multiplies Mx and My (not I1z) by the
Lorentzian decay exp(-pi * linewidth * t). The accuracy measure is the relative L2 error of the
broadened complex FID Mx + i My over the grid.

Example:
    >>> s = task_system(6, "ring", seed=0)
    >>> s.n_spins, TASK_TIMES.size, float(TASK_TIMES[1])
    (6, 512, 0.001953125)
    >>> round(float(relative_l2(np.ones((1, 4)), np.zeros((1, 4)), np.ones((1, 4)), np.zeros((1, 4)))[0]), 6)
    0.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .systems import SpinSystem

__all__ = [
    "TASK_J_RANGE",
    "TASK_LINEWIDTH_HZ",
    "TASK_OFFSET_RANGE",
    "TASK_TIMES",
    "TASK_TOPOLOGIES",
    "broaden",
    "first_order_fid",
    "relative_l2",
    "task_system",
    "task_systems",
]

TASK_N_TIMES = 512
TASK_TIMES = np.arange(TASK_N_TIMES, dtype=np.float64) / TASK_N_TIMES
TASK_OFFSET_RANGE = (-100.0, 100.0)
TASK_J_RANGE = (5.0, 20.0)
TASK_LINEWIDTH_HZ = 1.0
TASK_TOPOLOGIES = ("chain", "ring", "random")
RANDOM_EDGE_PROBABILITY = 0.35


def _task_edges(n: int, topology: str, rng: np.random.Generator) -> list[tuple[int, int]]:
    chain = [(i, i + 1) for i in range(n - 1)]
    if topology == "chain":
        return chain
    if topology == "ring":
        return [*chain, (0, n - 1)] if n > 2 else chain
    if topology == "random":
        extra = [(i, k) for i in range(n) for k in range(i + 2, n) if rng.random() < RANDOM_EDGE_PROBABILITY]
        return chain + extra
    raise ValueError(f"topology: must be one of {TASK_TOPOLOGIES}, got {topology!r}")


def task_system(
    n_spins: int,
    topology: str = "chain",
    seed: int | np.random.Generator | None = 0,
    offset_range: tuple[float, float] = TASK_OFFSET_RANGE,
    j_range: tuple[float, float] = TASK_J_RANGE,
) -> SpinSystem:
    """One system of the task: uniform offsets, uniform |J| (positive) on the topology's edges."""
    if not isinstance(n_spins, (int, np.integer)) or n_spins < 2:
        raise ValueError(f"n_spins: must be an integer >= 2, got {n_spins!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(n_spins)
    offsets = rng.uniform(offset_range[0], offset_range[1], size=n)
    edges = _task_edges(n, topology, rng)
    j = np.zeros((n, n))
    for (a, b), v in zip(edges, rng.uniform(j_range[0], j_range[1], size=len(edges)), strict=True):
        j[a, b] = j[b, a] = v
    return SpinSystem(offsets, j)


def task_systems(n_spins: int, count: int, seed: int, topologies: Sequence[str] = TASK_TOPOLOGIES) -> list[SpinSystem]:
    """``count`` systems of N spins, topologies cycled in order, all from the generator (seed, N).

    >>> [s.n_spins for s in task_systems(4, 3, seed=1)]
    [4, 4, 4]
    """
    rng = np.random.default_rng([seed, n_spins, 104729])
    return [task_system(n_spins, topologies[i % len(topologies)], rng) for i in range(count)]


def broaden(signal: np.ndarray, times: np.ndarray, linewidth_hz: float = TASK_LINEWIDTH_HZ) -> np.ndarray:
    """Multiply (..., T) signals by the Lorentzian decay exp(-pi * linewidth * t) (full width at half height).

    >>> broaden(np.ones(2), np.array([0.0, 1.0]), 0.0).tolist()
    [1.0, 1.0]
    """
    if not (np.isfinite(linewidth_hz) and linewidth_hz >= 0):
        raise ValueError(f"linewidth_hz: must be a finite number >= 0, got {linewidth_hz}")
    return np.asarray(signal) * np.exp(-np.pi * linewidth_hz * np.asarray(times))


def first_order_fid(systems: Sequence[SpinSystem], times: np.ndarray = TASK_TIMES) -> np.ndarray:
    """Weak-coupling (first-order) FID Mx + i My, (B, T) complex: (1/N) sum_i e^{2 pi i nu_i t} prod_k cos(pi J_ik t).

    >>> f = first_order_fid([SpinSystem([0.0, 0.0], None)], np.array([0.0, 0.5]))
    >>> f.real.tolist()
    [[1.0, 1.0]]
    """
    t = np.asarray(times, dtype=np.float64)
    out = np.zeros((len(systems), t.size), dtype=np.complex128)
    for b, s in enumerate(systems):
        env = np.prod(np.cos(np.pi * s.couplings_hz[:, :, None] * t), axis=1)  # (N, T)
        out[b] = (np.exp(2j * np.pi * s.offsets_hz[:, None] * t) * env).mean(axis=0)
    return out


def relative_l2(mx: np.ndarray, my: np.ndarray, mx_ref: np.ndarray, my_ref: np.ndarray) -> np.ndarray:
    """Per-system ||(Mx + i My) - (Mx_ref + i My_ref)|| / ||Mx_ref + i My_ref|| over the grid, shape (B,)."""
    num = np.sqrt(np.sum((np.asarray(mx) - mx_ref) ** 2 + (np.asarray(my) - my_ref) ** 2, axis=-1))
    den = np.sqrt(np.sum(np.asarray(mx_ref) ** 2 + np.asarray(my_ref) ** 2, axis=-1))
    return num / den
