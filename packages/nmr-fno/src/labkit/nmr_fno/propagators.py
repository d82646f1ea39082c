"""Sector-wise time propagation of operator blocks: Krylov-type (scipy expm_multiply) and Chebyshev.

Both methods work on sparse sector Hamiltonians in Hilbert space. With H real symmetric
(U^T = U), the FID trace is Tr(U_{k-1} F- U_k^dagger F+) = sum_ij Y_ij conj(W_ji) with
Y = U_{k-1}(t) F- and W = U_k(t) F+: two one-sided propagations of operator blocks per sector pair.
I1z needs one: Tr(U D U^dagger D) = sum_ij Y_ij conj(Y_ji) with Y = U(t) D.

Example:
    >>> import scipy.sparse as sp
    >>> h = sp.csr_matrix(np.diag([1.0, 2.0]))
    >>> y = list(propagate_block(h, np.eye(2, dtype=complex), np.array([0.0, 0.25]), "chebyshev"))
    >>> bool(np.allclose(y[1], np.diag(np.exp(-2j * np.pi * 0.25 * np.array([1.0, 2.0])))))
    True
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import expm_multiply
from scipy.special import jv

from .sectors import sector_bounds

__all__ = ["PROPAGATORS", "chebyshev_order", "propagate_block"]

PROPAGATORS = ("krylov", "chebyshev")
# below this sector size the step operator exp(-2 pi i H dt) is formed once from the same series
# (applied to the identity) and applied as a dense GEMM: scipy.sparse's per-call overhead dominates there
DENSE_BELOW = 300


def chebyshev_order(z: float, tol: float) -> int:
    """Smallest K with sum_{n>=K} 2|J_n(z)| < tol, the truncation error of exp(-i z x) on [-1, 1]."""
    if z < 0:
        raise ValueError(f"z: must be >= 0, got {z}")
    n_max = int(z + 20 + 10 * np.cbrt(max(z, 1.0)))
    while True:
        tail = 2.0 * np.cumsum(np.abs(jv(np.arange(n_max, -1, -1), z)))[::-1]  # tail[K] = sum_{n>=K}
        ok = np.nonzero(tail < tol)[0]
        if ok.size:
            return int(max(ok[0], 1))
        n_max *= 2


def _as_real_view(x: np.ndarray) -> np.ndarray:
    # (n, m) complex C-contiguous viewed as (n, 2m) real: a real H acts on both parts in one sparse GEMM
    return x.view(np.float64)


class _ChebyshevStep:
    """exp(-2 pi i H dt) as a truncated Chebyshev series in H rescaled to [-1, 1] (Bessel coefficients)."""

    def __init__(self, h: sp.csr_matrix, dt: float, lo: float, hi: float, tol: float) -> None:
        c, r = 0.5 * (hi + lo), max(0.5 * (hi - lo), 1e-12)
        z = 2.0 * np.pi * r * abs(dt)
        self.order = chebyshev_order(z, tol)
        n = np.arange(self.order + 1)
        self.coef = jv(n, z) * (-1j * np.sign(dt)) ** n
        self.coef[1:] *= 2.0
        self.phase = np.exp(-2j * np.pi * c * dt)
        hs = sp.csr_matrix((h - c * sp.identity(h.shape[0], format="csr")) / r)
        self.hs = hs.toarray() if hs.shape[0] <= DENSE_BELOW else hs

    def _apply(self, v: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.hs @ _as_real_view(v)).view(np.complex128)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        t_prev = x
        t_cur = self._apply(t_prev)
        acc = self.coef[0] * t_prev + self.coef[1] * t_cur
        for n in range(2, self.order + 1):
            t_next = 2.0 * self._apply(t_cur) - t_prev
            acc += self.coef[n] * t_next
            t_prev, t_cur = t_cur, t_next
        return self.phase * acc


class _TaylorStep:
    """exp(-2 pi i H dt) X by scipy's expm_multiply (Al-Mohy & Higham 2011), parameters chosen once per dt.

    Calling expm_multiply at every step re-runs its norm estimates and degree selection, which
    dominated the run time at small N; the degree m*, scaling s and shift mu depend only on (H, dt).
    """

    def __init__(self, h: sp.csr_matrix, dt: float, n_cols: int) -> None:
        a = sp.csr_matrix(-2j * np.pi * dt * h)
        self._a = a
        try:
            from scipy.sparse.linalg import _expm_multiply as em

            n = a.shape[0]
            mu = a.diagonal().sum() / n
            shifted = sp.csr_matrix(a - mu * sp.identity(n, format="csr"))
            norm = float(abs(shifted).sum(axis=0).max())
            tol = 2.0**-53
            if norm == 0.0:
                m_star, s = 0, 1
            else:
                info = em.LazyOperatorNormInfo(shifted, A_1_norm=norm, ell=2)
                m_star, s = em._fragment_3_1(info, n_cols, tol, ell=2)
            op = shifted.toarray() if n <= DENSE_BELOW else shifted
            self._core = lambda v: em._expm_multiply_simple_core(op, v, 1.0, mu, m_star, s, tol)
        except (ImportError, AttributeError):  # pragma: no cover - private scipy API moved: public path
            self._core = lambda v: expm_multiply(a, v)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self._core(x))


def propagate_block(
    h: sp.spmatrix, x0: np.ndarray, times: np.ndarray, method: str, tol: float = 1e-10
) -> Iterator[np.ndarray]:
    """Yield exp(-2 pi i H t_m) X0 for each time (H in Hz), stepping between consecutive times.

    `tol` is the Chebyshev truncation error per step (the order follows from the spectral bounds);
    expm_multiply chooses its own Taylor degree for double precision.
    """
    if method not in PROPAGATORS:
        raise ValueError(f"method: propagator must be one of {PROPAGATORS}, got {method!r}")
    h = sp.csr_matrix(h, dtype=np.float64)
    x = np.ascontiguousarray(x0, dtype=np.complex128)
    lo, hi = sector_bounds(h)
    times = np.asarray(times, dtype=np.float64)
    dts = np.diff(np.concatenate([[0.0], times]))
    if times.size > 2:
        # t_m - t_(m-1) on a uniform grid jitters in the last bits: use the exact mean step so one
        # step operator serves the whole grid (and m steps add up to t_m to rounding)
        d = (times[-1] - times[0]) / (times.size - 1)
        if np.allclose(dts[1:], d, rtol=1e-9, atol=0.0):
            dts[1:] = d
    steps: dict[float, object] = {}
    for dt in dts.tolist():
        if dt != 0.0:
            step = steps.get(dt)
            if step is None:
                if method == "chebyshev":
                    step = _ChebyshevStep(h, dt, lo, hi, tol)
                else:
                    step = _TaylorStep(h, dt, x.shape[1] if x.ndim == 2 else 1)
                if h.shape[0] <= DENSE_BELOW:
                    # small block: apply the polynomial once to the identity, then one GEMM per step
                    u_dt = step(np.eye(h.shape[0], dtype=np.complex128))
                    step = lambda v, u=u_dt: u @ v  # noqa: E731
                steps[dt] = step
            x = step(x)  # type: ignore[operator]
        yield x
