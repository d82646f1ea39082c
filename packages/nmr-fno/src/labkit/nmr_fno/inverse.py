"""Inverse problems: recover couplings J (and offsets) from a noisy FID through any forward model.

A fit is a seeded candidate scan (the same candidates for every data set, so repeated fits hit
the cache) followed by bounded least squares (scipy ``trf``, finite-difference Jacobian) from the
best candidate. The forward model is either the surrogate or an exact simulator; both go through
:class:`EvaluationCache`, keyed by a hash of the parameter vector's float64 bytes.
SNR convention: noise σ = 1/SNR per point of Mx and My (the FID's maximum |M(0)| is 1).

Example:
    >>> from labkit.nmr_fno.systems import SpinSystem
    >>> from labkit.nmr_fno.simulate import simulate
    >>> from labkit.nmr_fno.surrogate import surrogate_times
    >>> t = surrogate_times(100)
    >>> truth = SpinSystem([-40.0, 30.0], [[0, 12.0], [12.0, 0]])
    >>> fwd = exact_forward(t)
    >>> res = fit_couplings(fwd, truth, fwd(truth), n_candidates=8)
    >>> round(float(res.couplings[0]), 3)
    12.0
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from labkit.nmr_fno.systems import SpinSystem

__all__ = ["EvaluationCache", "FitResult", "add_noise", "exact_forward", "fit_couplings", "surrogate_forward"]

Forward = Callable[[SpinSystem], np.ndarray]


class EvaluationCache:
    """Memoise a forward model ``fn(system) -> array`` by a SHA-256 of the system's full parameter vector.

    The key covers N, every offset and every coupling (float64 bytes), so one cache can serve fits
    with different templates without false hits.

    >>> c = EvaluationCache(lambda s: s.offsets_hz * 2)
    >>> s = SpinSystem([1.0, 2.0], [[0, 5.0], [5.0, 0]])
    >>> c(s).tolist(), c(s).tolist(), (c.hits, c.misses)
    ([2.0, 4.0], [2.0, 4.0], (1, 1))
    """

    def __init__(self, fn: Forward, max_entries: int = 100_000) -> None:
        self.fn, self.max_entries = fn, max_entries
        self._store: dict[str, np.ndarray] = {}
        self.hits = self.misses = 0

    @staticmethod
    def key(system: SpinSystem) -> str:
        """Hash of N and the exact float64 parameter bytes (a changed last bit is a different key)."""
        vec = np.ascontiguousarray(system.to_vector(), dtype=np.float64)
        return hashlib.sha256(np.int64(system.n_spins).tobytes() + vec.tobytes()).hexdigest()

    def __call__(self, system: SpinSystem) -> np.ndarray:
        k = self.key(system)
        if k in self._store:
            self.hits += 1
            return self._store[k].copy()
        self.misses += 1
        out = np.asarray(self.fn(system))
        if len(self._store) < self.max_entries:
            self._store[k] = out.copy()
        return out


@dataclass
class FitResult:
    """Fitted couplings (on the template's edges) and offsets, cost, evaluation counts and time."""

    couplings: np.ndarray
    offsets: np.ndarray
    cost: float
    n_evaluations: int
    cache_hits: int
    seconds: float
    success: bool


def add_noise(fid: np.ndarray, snr: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of σ = 1/snr on every point (``snr`` > 0)."""
    if not snr > 0:
        raise ValueError(f"snr: must be > 0, got {snr}")
    return fid + rng.normal(0.0, 1.0 / snr, size=fid.shape)


def exact_forward(times: np.ndarray, method: str = "exact") -> Forward:
    """Forward model (Mx, My) from an exact simulator, shape (2, n_t)."""
    from labkit.nmr_fno.simulate import simulate

    def fwd(system: SpinSystem) -> np.ndarray:
        r = simulate(system, times, method, observables=("Mx", "My"))
        return np.stack([r["Mx"], r["My"]])

    return fwd


def surrogate_forward(surrogate) -> Forward:
    """Forward model (Mx, My) from a trained surrogate (deterministic pass), shape (2, n_t)."""

    def fwd(system: SpinSystem) -> np.ndarray:
        return surrogate.predict([system], check_range=False)[0, :2]

    return fwd


def fit_couplings(
    forward: Forward,
    template: SpinSystem,
    fid: np.ndarray,
    fit_offsets: bool = False,
    j_bounds: tuple[float, float] = (1.0, 35.0),
    offset_halfwidth: float = 5.0,
    n_candidates: int = 32,
    cache: EvaluationCache | None = None,
    seed: int = 0,
) -> FitResult:
    """Least-squares J (on the template's non-zero edges) and optionally offsets (± offset_halfwidth Hz).

    ``fid`` is (2, n_t): measured Mx, My. The template supplies the topology and the starting offsets.
    ``cache`` must wrap the same ``forward`` (it is used instead of calling ``forward`` directly).
    """
    fid = np.asarray(fid, dtype=np.float64)
    if fid.ndim != 2 or fid.shape[0] != 2:
        raise ValueError(f"fid: expected shape (2, n_t) holding Mx and My, got {fid.shape}")
    if not np.all(np.isfinite(fid)):
        raise ValueError("fid: contains NaN or inf values; clean or drop those points before fitting")
    n = template.n_spins
    edges = [(i, k) for i in range(n) for k in range(i + 1, n) if template.couplings_hz[i, k] != 0.0]
    if not edges:
        raise ValueError("template: has no couplings to fit (all J are zero)")
    nu0 = template.offsets_hz.copy()

    def build(theta: np.ndarray) -> SpinSystem:
        j = np.zeros((n, n))
        for (a, b), v in zip(edges, theta[: len(edges)], strict=True):
            j[a, b] = j[b, a] = v
        nu = nu0 + theta[len(edges) :] if fit_offsets else nu0
        return SpinSystem(nu, j)

    store = cache if cache is not None else EvaluationCache(forward)

    def cached(theta: np.ndarray) -> np.ndarray:
        return store(build(theta))

    h0, m0 = store.hits, store.misses
    lo = [j_bounds[0]] * len(edges) + ([-offset_halfwidth] * n if fit_offsets else [])
    hi = [j_bounds[1]] * len(edges) + ([offset_halfwidth] * n if fit_offsets else [])
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)  # same candidates for every data set: repeated fits reuse them
    cands = rng.uniform(lo, hi, size=(n_candidates, len(lo)))
    if fit_offsets:
        cands[:, len(edges) :] = 0.0
    costs = [float(np.sum((cached(c) - fid) ** 2)) for c in cands]
    start = cands[int(np.argmin(costs))]
    res = least_squares(lambda th: (cached(th) - fid).ravel(), start, bounds=(lo, hi), method="trf",
                        x_scale=np.r_[[5.0] * len(edges), [1.0] * (len(lo) - len(edges))], diff_step=1e-6, max_nfev=200)
    seconds = time.perf_counter() - t0
    fitted = build(res.x)
    return FitResult(
        couplings=np.array([fitted.couplings_hz[a, b] for a, b in edges]), offsets=fitted.offsets_hz.copy(),
        cost=float(2 * res.cost), n_evaluations=(store.hits - h0) + (store.misses - m0), cache_hits=store.hits - h0,
        seconds=seconds, success=bool(res.success),
    )
