"""Galerkin Laplace spectra on S^1 x S^3 x ... with the round eigenfunctions as basis, over the whole groups.

Basis. On S^3 = SU(2) the round eigenfunctions of degree l span H_l, the (l+1)^2 matrix elements
D^{l/2}_{mn} of the spin-l/2 representation (Peter-Weyl). Restrictions of the homogeneous polynomials of
degree L and L - 1 in q in R^4 span exactly H_0 + ... + H_L, with no redundancy (their counts add up to
sum (l+1)^2), so ``s3_factor`` takes those monomials and orthonormalises them for the Haar measure. The
space is that of the Wigner-D matrix elements with l <= L, but the basis is not the D's themselves. On
the circle the basis is 1, cos k theta, sin k theta (|k| <= K). A product manifold takes all products.

Derivatives are taken along the left-invariant frame: E_a u(q) = grad u(q) . (q e_a), dual to the
Maurer-Cartan forms sigma = Im(q^-1 dq) of ``labkit.g2_pinn.charts`` (sum sigma^2 is the unit round S^3).
A metric is given by its components G (P, d, d) in the coframe (d theta, sigma(q1), sigma(q2), ...), so
no chart is involved, and the antipodal caps are included. Weak form, Rayleigh-Ritz:
    A_ij = int G^ab E_a u_i E_b u_j sqrt(det G) dmu,  M_ij = int u_i u_j sqrt(det G) dmu,  A v = lambda M v,
with dmu the product of d theta and the unit-sphere volume on each S^3 (total 2 pi^2).

Quadrature over the whole group. In Hopf coordinates q = (sqrt(1-u) e^{i xi1}, sqrt(u) e^{i xi2}) the
Haar measure is du dxi1 dxi2, so Gauss-Legendre in u and the trapezoid rule in xi1, xi2 integrate
polynomials of degree 2 n_u - 1 in u and trigonometric degree m - 1 in each angle exactly, which covers
every polynomial in q of degree <= min(m - 1, 4 n_u - 2). The round metric's matrices are therefore exact;
other metrics converge spectrally.

Eigenvalues are upper bounds (Rayleigh-Ritz). On the round and Berger spheres every H_l is invariant, so
the eigenvalues are exact for l <= L. A metric pulled back by a diffeomorphism is not, and its
eigenvalues converge as L grows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from labkit.g2_pinn.geometry import quat_mul

__all__ = ["Factor", "circle_factor", "product_galerkin", "s3_factor", "s3_quadrature"]


@dataclass
class Factor:
    """One factor of a product: quadrature nodes, weights, basis values and frame derivatives there.

    ``points`` (n, D) (theta (n, 1) or q (n, 4)), ``weights`` (n,) summing to the factor's volume,
    ``values`` (n, b) and ``derivs`` (n, d, b) along the d frame vectors.
    """

    points: np.ndarray
    weights: np.ndarray
    values: np.ndarray
    derivs: np.ndarray


def circle_factor(K: int, n: int | None = None) -> Factor:
    """S^1 with 1, cos k theta, sin k theta (1 <= k <= K), derivative d/d theta; n nodes (default 2K + 2).

    Example:
        >>> f = circle_factor(1)
        >>> f.values.shape, round(float(f.weights.sum()), 6)
        ((4, 3), 6.283185)
    """
    n = 2 * K + 2 if n is None else int(n)
    if n <= 2 * K:
        raise ValueError(f"circle: need more than 2K = {2 * K} nodes, got {n}")
    th = 2 * math.pi * np.arange(n) / n
    vals, ders = [np.ones(n)], [np.zeros(n)]
    for k in range(1, K + 1):
        vals += [np.cos(k * th), np.sin(k * th)]
        ders += [-k * np.sin(k * th), k * np.cos(k * th)]
    return Factor(th[:, None], np.full(n, 2 * math.pi / n), np.stack(vals, 1), np.stack(ders, 1)[:, None, :])


def s3_quadrature(m: int, n_u: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit quaternions (m^2 n_u, 4) and weights (summing to 2 pi^2) of the product rule in Hopf coordinates.

    Exact for polynomials in q of degree <= min(m - 1, 4 n_u - 2).
    """
    u, wu = np.polynomial.legendre.leggauss(n_u)
    u, wu = (u + 1) / 2, wu / 2
    xi = 2 * math.pi * np.arange(m) / m
    U, X1, X2 = np.meshgrid(u, xi, xi, indexing="ij")
    W = np.broadcast_to(wu[:, None, None], U.shape) * (2 * math.pi / m) ** 2
    a, b = np.sqrt(1 - U), np.sqrt(U)
    q = np.stack([a * np.cos(X1), a * np.sin(X1), b * np.cos(X2), b * np.sin(X2)], -1).reshape(-1, 4)
    return q, W.reshape(-1) * (2 * math.pi ** 2) / (4 * math.pi ** 2)


def _monomials(L: int) -> list[tuple[int, ...]]:
    return [e for d in (L - 1, L) if d >= 0 for e in itertools.product(range(d + 1), repeat=4) if sum(e) == d]


def s3_factor(L: int, m: int | None = None, n_u: int | None = None) -> Factor:
    """S^3 with an orthonormal basis of H_0 + ... + H_L (sum (l+1)^2 functions) and its left-invariant derivatives.

    The default rule (m = 2L + 1, n_u = L // 2 + 1) is exact for the round mass and stiffness matrices;
    pass larger m, n_u for metrics that are not polynomial.

    Example:
        >>> f = s3_factor(2)
        >>> f.values.shape[1], bool(np.allclose((f.values.T * f.weights) @ f.values, np.eye(14)))
        (14, True)
    """
    m = 2 * L + 1 if m is None else int(m)
    n_u = L // 2 + 1 if n_u is None else int(n_u)
    if m < 2 * L + 1 or 4 * n_u - 2 < 2 * L:
        raise ValueError(f"s3 quadrature: need m >= 2L + 1 and 4 n_u - 2 >= 2L for L = {L}, got m={m}, n_u={n_u}")
    q, w = s3_quadrature(m, n_u)
    exps = np.array(_monomials(L))  # (b, 4)
    vals = np.prod(q[:, None, :] ** exps[None], axis=-1)  # (n, b)
    grad = np.zeros((len(q), 4, len(exps)))
    for i in range(4):
        e = exps.copy()
        c = e[:, i].astype(float)
        e[:, i] = np.maximum(e[:, i] - 1, 0)
        grad[:, i, :] = c * np.prod(q[:, None, :] ** e[None], axis=-1)
    units = np.eye(4)[1:]  # e_1, e_2, e_3 as quaternions (0, 1, 0, 0), ...
    tangents = np.stack([quat_mul(q, np.broadcast_to(u, q.shape)) for u in units], 1)  # (n, 3, 4): q e_a
    ders = np.einsum("nai,nib->nab", tangents, grad)
    # orthonormalise for the Haar measure (exact here): the span is the Wigner-D span with l <= L
    gram = (vals.T * w) @ vals
    R = np.linalg.cholesky(gram)
    T = np.linalg.inv(R).T
    return Factor(q, w, vals @ T, ders @ T)


def product_galerkin(factors: list[Factor], metric: Callable[[list[np.ndarray]], np.ndarray], n_eig: int,
                     chunk: int = 4096, return_volume: bool = False):
    """The n_eig smallest Laplace eigenvalues of a metric on the product of ``factors`` (tensor-product basis).

    ``metric`` maps the factors' node arrays (one (P, D_k) array per factor, for P product nodes) to the
    metric (P, d, d) in the product coframe. Stiffness and mass are summed over the full product rule in
    chunks of the first factors' nodes. ``return_volume`` also returns int sqrt(det G) dmu (same rule).

    Example:
        >>> round_s3 = lambda pts: np.broadcast_to(np.eye(3), (len(pts[0]), 3, 3))
        >>> product_galerkin([s3_factor(1)], round_s3, 5).round(10).tolist()   # unit S^3: 0, 3 (x4)
        [0.0, 3.0, 3.0, 3.0, 3.0]
    """
    sizes = [f.values.shape[1] for f in factors]
    dims = [f.derivs.shape[1] for f in factors]
    nb, d = int(np.prod(sizes)), int(sum(dims))
    if n_eig > nb:
        raise ValueError(f"n_eig = {n_eig} exceeds the {nb} basis functions")
    last = factors[-1]
    A = np.zeros((nb, nb))
    M = np.zeros((nb, nb))
    volume = 0.0
    outer = list(itertools.product(*[range(len(f.weights)) for f in factors[:-1]]))
    per = max(1, chunk // len(last.weights))
    for s in range(0, len(outer), per):
        block = outer[s:s + per]
        n_in = len(last.weights)
        P = len(block) * n_in
        idx = np.array(block, dtype=np.int64).reshape(len(block), len(factors) - 1)
        pts = [np.repeat(f.points[idx[:, k]], n_in, 0) for k, f in enumerate(factors[:-1])]
        pts.append(np.tile(last.points, (len(block), 1)))
        w = np.ones(P)
        vals = np.ones((P, 1))
        ders = np.zeros((P, d, 1))
        off = 0
        for k, f in enumerate(factors):
            sel = (np.repeat(idx[:, k], n_in) if k < len(factors) - 1 else np.tile(np.arange(n_in), len(block)))
            w = w * f.weights[sel]
            fv, fd = f.values[sel], f.derivs[sel]  # (P, b_k), (P, d_k, b_k)
            nb_k = vals.shape[1] * fv.shape[1]
            new_d = np.zeros((P, d, nb_k))
            new_d[:, :off] = (ders[:, :off, :, None] * fv[:, None, None, :]).reshape(P, off, nb_k)
            new_d[:, off:off + dims[k]] = (vals[:, None, :, None] * fd[:, :, None, :]).reshape(P, dims[k], nb_k)
            vals = (vals[:, :, None] * fv[:, None, :]).reshape(P, -1)
            ders, off = new_d, off + dims[k]
        G = np.asarray(metric(pts), dtype=np.float64)
        C = np.linalg.cholesky(G)
        root = np.prod(np.diagonal(C, axis1=-2, axis2=-1), axis=-1) * w  # sqrt(det G) * weight
        Y = np.linalg.solve(C, ders) * np.sqrt(root)[:, None, None]  # C^-1 D, so D^T G^-1 D = Y^T Y
        A += np.einsum("pai,paj->ij", Y, Y)
        M += (vals.T * root) @ vals
        volume += float(root.sum())
    lam = scipy.linalg.eigh(0.5 * (A + A.T), 0.5 * (M + M.T), eigvals_only=True, subset_by_index=(0, n_eig - 1))
    return (np.asarray(lam), volume) if return_volume else np.asarray(lam)
