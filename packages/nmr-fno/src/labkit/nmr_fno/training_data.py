"""Surrogate training data: seeded random systems of several N (multi-fidelity) and their exact trajectories.

Targets are computed by part 1's batched sector-eigh simulator (``simulate_batch``, float64) on
the surrogate's own window (:func:`labkit.nmr_fno.surrogate.surrogate_times`), not on the
simulator's 1 ms default grid: lines at up to ~130 Hz would sit near rfft mode 39 of a 0.3 s
window, outside 24 kept modes.

Example:
    >>> from labkit.nmr_fno.surrogate import SurrogateSpec
    >>> data = make_dataset(SurrogateSpec(n_max=4, n_t=64), {3: 2, 4: 1}, seed=0)
    >>> data.x.shape, data.y.shape, data.n_spins.tolist()
    ((3, 14), (3, 3, 64), [3, 3, 4])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from labkit.core import Tracked
from labkit.nmr_fno.surrogate import SurrogateSpec, encode_systems
from labkit.nmr_fno.systems import SpinSystem, random_system

__all__ = ["CHANNELS", "SurrogateData", "make_dataset", "simulate_targets"]

CHANNELS = ("Mx", "My", "I1z")


@dataclass
class SurrogateData:
    """Systems, their encodings x (B, F) float32, targets y (B, 3, n_t) float32 and N per sample."""

    systems: list[SpinSystem]
    x: np.ndarray
    y: np.ndarray
    n_spins: np.ndarray

    def subset(self, mask: np.ndarray) -> SurrogateData:
        """The samples where ``mask`` is true."""
        idx = np.flatnonzero(mask)
        return SurrogateData([self.systems[i] for i in idx], self.x[idx], self.y[idx], self.n_spins[idx])


def simulate_targets(systems: Sequence[SpinSystem], times: np.ndarray, chunk: int = 256, device: str = "cpu") -> np.ndarray:
    """Exact (Mx, My, I1z) for same-N systems via the batched torch sector simulator (float64), shape (B, 3, n_t)."""
    from labkit.nmr_fno.batch import simulate_batch

    if len({s.n_spins for s in systems}) > 1:
        raise ValueError("systems: simulate_targets needs systems of one N (group them by n_spins)")
    outs = []
    for start in range(0, len(systems), chunk):
        res = simulate_batch(list(systems[start : start + chunk]), times, device=device)
        outs.append(np.stack([res[c].cpu().numpy() for c in CHANNELS], axis=1))
    return np.concatenate(outs)


def make_dataset(
    spec: SurrogateSpec,
    counts: Mapping[int, int],
    seed: int,
    topology: str = "chain",
    j_range: tuple[float, float] | None = None,
    offset_range: tuple[float, float] | None = None,
    loop: Callable[..., Iterable[int]] | None = None,
    name: str = "data",
    device: str = "cpu",
) -> SurrogateData:
    """``counts[N]`` random systems per N (ranges default to the spec's), encoded, with exact targets.

    Each N draws from its own generator (seed, N), so adding an N or changing another count does not
    change the systems of this one. With ``loop`` (``ctx.loop``), finished N are checkpointed.
    """
    for n, c in counts.items():
        if n > spec.n_max or n < 2:
            raise ValueError(f"counts: N={n} must lie in [2, n_max={spec.n_max}]")
        if c < 1:
            raise ValueError(f"counts: need at least one system for N={n}, got {c}")
    j_lo, j_hi = j_range or spec.j_range
    off_lo, off_hi = offset_range or spec.offset_range
    jr, orr = (j_lo, j_hi), (off_lo, off_hi)
    times = spec.times()
    order = sorted(counts)
    parts: list[dict] = []
    track = {"parts": Tracked(lambda: list(parts), lambda v: parts.__setitem__(slice(None), v))}
    steps = loop(len(order), track=track, checkpoint_every=1, name=name, desc=name) if loop else range(len(order))
    for i in steps:
        n = order[i]
        rng = np.random.default_rng([seed, n, 7919])
        systems = [random_system(n, topology, seed=rng, j_range=jr, offset_range=orr) for _ in range(counts[n])]
        parts.append({"n": n, "vectors": np.stack([s.to_vector() for s in systems]), "y": simulate_targets(systems, times, device=device).astype(np.float32)})
    systems = [SpinSystem.from_vector(v, p["n"]) for p in parts for v in p["vectors"]]
    y = np.concatenate([p["y"] for p in parts])
    n_spins = np.concatenate([np.full(len(p["vectors"]), p["n"]) for p in parts])
    x = encode_systems(systems, spec.n_max, spec.offset_scale, spec.j_scale)
    return SurrogateData(systems, x, y, n_spins)
