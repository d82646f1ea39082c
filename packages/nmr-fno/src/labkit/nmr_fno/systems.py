"""Coupled spin-1/2 systems: offsets, scalar couplings, parameter vectors and random generators.

Convention (all frequencies in Hz, rotating frame):
    H / hbar = 2 pi [ sum_i nu_i I_iz + sum_{i<j} J_ij (I_i . I_j) ]

Example:
    >>> s = SpinSystem([10.0, 20.0], [[0.0, 10.0], [10.0, 0.0]])
    >>> s.n_spins, s.to_vector().tolist()
    (2, [10.0, 20.0, 10.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_SPINS", "TOPOLOGIES", "SpinSystem", "n_params", "random_system"]

TOPOLOGIES = ("chain", "ring", "star", "random")
# bit tricks in the sector code use one int64 per basis state; far beyond any feasible N anyway
MAX_SPINS = 30


def n_params(n_spins: int) -> int:
    """Length of the parameter vector of an N-spin system: N offsets + N(N-1)/2 couplings.

    >>> n_params(3)
    6
    """
    return n_spins + n_spins * (n_spins - 1) // 2


def _as_offsets(offsets_hz: Sequence[float] | np.ndarray) -> np.ndarray:
    nu = np.asarray(offsets_hz, dtype=np.float64)
    if nu.ndim != 1 or nu.size < 1:
        raise ValueError(f"offsets_hz: expected a 1-D sequence of at least one offset, got shape {nu.shape}")
    if nu.size > MAX_SPINS:
        raise ValueError(f"offsets_hz: at most {MAX_SPINS} spins are supported, got {nu.size}")
    if not np.all(np.isfinite(nu)):
        raise ValueError("offsets_hz: all offsets must be finite numbers (got NaN or inf)")
    return nu


def _as_couplings(couplings_hz: Sequence[Sequence[float]] | np.ndarray | None, n: int) -> np.ndarray:
    if couplings_hz is None:
        return np.zeros((n, n))
    j = np.asarray(couplings_hz, dtype=np.float64)
    if j.shape != (n, n):
        raise ValueError(f"couplings_hz: expected an {n}x{n} matrix (one row per offset), got shape {j.shape}")
    if not np.all(np.isfinite(j)):
        raise ValueError("couplings_hz: all couplings must be finite numbers (got NaN or inf)")
    if not np.allclose(j, j.T, rtol=0.0, atol=1e-9 * max(1.0, float(np.abs(j).max()))):
        i, k = np.unravel_index(np.argmax(np.abs(j - j.T)), j.shape)
        raise ValueError(
            f"couplings_hz: the J matrix must be symmetric; J[{i},{k}]={j[i, k]} but J[{k},{i}]={j[k, i]}"
        )
    if np.any(np.diag(j) != 0.0):
        raise ValueError("couplings_hz: the diagonal (self-coupling) must be zero")
    return 0.5 * (j + j.T)


@dataclass(frozen=True, init=False)
class SpinSystem:
    """N coupled spin-1/2 nuclei: offsets nu_i (Hz) and a symmetric scalar-coupling matrix J (Hz).

    The constructor takes any sequences (or arrays) and stores validated, read-only float64 arrays;
    ``couplings_hz=None`` means uncoupled (an all-zero J).

    >>> SpinSystem.from_ppm([1.0, 2.0], [[0, 7.0], [7.0, 0]], spectrometer_mhz=400.0).offsets_hz.tolist()
    [400.0, 800.0]
    """

    offsets_hz: np.ndarray
    couplings_hz: np.ndarray

    def __init__(
        self,
        offsets_hz: Sequence[float] | np.ndarray,
        couplings_hz: Sequence[Sequence[float]] | np.ndarray | None = None,
    ) -> None:
        nu = _as_offsets(offsets_hz)
        j = _as_couplings(couplings_hz, nu.size)
        nu.setflags(write=False)
        j.setflags(write=False)
        object.__setattr__(self, "offsets_hz", nu)
        object.__setattr__(self, "couplings_hz", j)

    @classmethod
    def from_ppm(
        cls,
        shifts_ppm: Sequence[float],
        couplings_hz: Sequence[Sequence[float]] | np.ndarray | None,
        spectrometer_mhz: float,
        reference_ppm: float = 0.0,
    ) -> SpinSystem:
        """Build from chemical shifts in ppm: nu_i = (delta_i - reference) * spectrometer MHz."""
        if not (np.isfinite(spectrometer_mhz) and spectrometer_mhz > 0):
            raise ValueError(f"spectrometer_mhz: must be a positive finite frequency, got {spectrometer_mhz}")
        delta = _as_offsets(shifts_ppm)
        return cls((delta - reference_ppm) * float(spectrometer_mhz), couplings_hz)

    @property
    def n_spins(self) -> int:
        """Number of spins N (Hilbert space dimension 2^N)."""
        return int(self.offsets_hz.size)

    def to_vector(self) -> np.ndarray:
        """Parameter vector [nu_1..nu_N, J_12, J_13, ..., J_(N-1)N] in Hz (upper triangle, row major)."""
        iu = np.triu_indices(self.n_spins, k=1)
        return np.concatenate([self.offsets_hz, self.couplings_hz[iu]])

    @classmethod
    def from_vector(cls, vector: Sequence[float] | np.ndarray, n_spins: int | None = None) -> SpinSystem:
        """Inverse of :meth:`to_vector`; N is inferred from the length when not given."""
        v = np.asarray(vector, dtype=np.float64).ravel()
        if n_spins is None:
            n_spins = round((np.sqrt(8 * v.size + 1) - 1) / 2)
        if v.size != n_params(n_spins):
            raise ValueError(
                f"vector: an {n_spins}-spin system needs {n_params(n_spins)} parameters "
                f"(N offsets + N(N-1)/2 couplings), got {v.size}"
            )
        j = np.zeros((n_spins, n_spins))
        iu = np.triu_indices(n_spins, k=1)
        j[iu] = v[n_spins:]
        return cls(v[:n_spins].copy(), j + j.T)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpinSystem):
            return NotImplemented
        return bool(np.array_equal(self.offsets_hz, other.offsets_hz) and np.array_equal(self.couplings_hz, other.couplings_hz))

    def __hash__(self) -> int:
        return hash(self.to_vector().tobytes())

    def __repr__(self) -> str:
        return f"SpinSystem(n_spins={self.n_spins}, offsets_hz={self.offsets_hz.tolist()}, couplings_hz=<{self.n_spins}x{self.n_spins}>)"


def _edges(n: int, topology: str, rng: np.random.Generator) -> list[tuple[int, int]]:
    if topology == "chain":
        return [(i, i + 1) for i in range(n - 1)]
    if topology == "ring":
        return [(i, (i + 1) % n) for i in range(n)] if n > 2 else [(0, 1)] if n == 2 else []
    if topology == "star":
        return [(0, i) for i in range(1, n)]
    # "random": Erdos-Renyi with mean degree ~2, plus a spanning chain so the system stays connected
    edges = {(i, i + 1) for i in range(n - 1)}
    p = min(1.0, 2.0 / max(n - 1, 1))
    for i in range(n):
        for k in range(i + 2, n):
            if rng.random() < p:
                edges.add((i, k))
    return sorted(edges)


def random_system(
    n_spins: int,
    topology: str = "chain",
    seed: int | np.random.Generator | None = 0,
    j_range: tuple[float, float] = (5.0, 20.0),
    offset_range: tuple[float, float] = (-100.0, 100.0),
) -> SpinSystem:
    """A seeded random system: uniform offsets in offset_range, uniform |J| in j_range on the topology's edges.

    >>> random_system(4, "ring", seed=1).n_spins
    4
    """
    if not isinstance(n_spins, (int, np.integer)) or n_spins < 1 or n_spins > MAX_SPINS:
        raise ValueError(f"n_spins: must be an integer in [1, {MAX_SPINS}], got {n_spins!r}")
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology: must be one of {TOPOLOGIES}, got {topology!r}")
    for name, (lo, hi) in (("j_range", j_range), ("offset_range", offset_range)):
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise ValueError(f"{name}: expected finite (low, high) with low <= high, got {(lo, hi)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(n_spins)
    offsets = rng.uniform(offset_range[0], offset_range[1], size=n)
    edges = _edges(n, topology, rng)
    j = np.zeros((n, n))
    vals = rng.uniform(j_range[0], j_range[1], size=len(edges))
    for (a, b), v in zip(edges, vals, strict=True):
        j[a, b] = j[b, a] = v
    return SpinSystem(offsets, j)
