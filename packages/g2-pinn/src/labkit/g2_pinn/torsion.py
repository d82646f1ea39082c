"""Torsion of a G2 structure: d phi and d*phi by autodiff through the 3-form field.

A G2 structure phi is torsion free (holonomy in G2, hence Ricci flat) iff d phi = 0 and
d *_phi phi = 0, with *_phi the Hodge star of the metric phi induces (Fernandez-Gray; Bryant,
"Some remarks on G2 structures", Prop. 1; Joyce, "Compact Manifolds with Special Holonomy",
Prop. 10.1.3). In coordinates, for a p-form alpha = sum_I alpha_I dx^I (sorted I),
    (d alpha)_K = sum_{m in K} sign(m, K \\ m) d_m alpha_{K \\ m},
and |alpha|_g^2 = sum_{I,J} alpha_I [Lambda^p g^-1]_{IJ} alpha_J (compound matrix of g^-1).
The coordinate Jacobian comes from forward-mode jvp (one per coordinate, vmapped), which stays
differentiable w.r.t. the network parameters, so the torsion is a trainable loss.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import torch

from labkit.g2_pinn.algebra import check_metric, hodge_star, induced_metric
from labkit.g2_pinn.forms import component_index, form_norm_sq, form_tensor, index_sets, perm_sign

__all__ = ["exterior_derivative", "fd_exterior_derivative", "field_jacobian", "torsion"]

Field = Callable[[torch.Tensor], torch.Tensor]


def field_jacobian(fn: Field, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Values fn(x) (N, C) and coordinate Jacobian J[n, m, c] = d_m fn_c at x (N, d), differentiable."""
    d = x.shape[-1]
    tangents = torch.eye(d, dtype=x.dtype, device=x.device)[:, None, :].expand(d, *x.shape)
    vals, jac = torch.func.vmap(lambda v: torch.func.jvp(fn, (x,), (v,)))(tangents)[:2]
    return vals[0], jac.movedim(0, 1)


@cache
def _d_table(p: int, n: int = 7) -> np.ndarray:
    """D[m, I, K] = sign(m, I) if K = {m} u I (sorted), so (d alpha)_K = sum D[m,I,K] d_m alpha_I."""
    src, dst = index_sets(p, n), component_index(p + 1, n)
    D = np.zeros((n, len(src), len(dst)))
    for i, I in enumerate(src):
        for m in range(n):
            s = perm_sign((m, *I))
            if s:
                D[m, i, dst[tuple(sorted((m, *I)))]] = s
    return D


def exterior_derivative(jac: torch.Tensor, p: int) -> torch.Tensor:
    """Components of d alpha (N, C(7, p+1)) from the Jacobian (N, 7, C(7, p)) of a p-form field.

    Example:
        >>> J = torch.zeros(1, 7, 7, dtype=torch.float64); J[0, 1, 0] = 1.0   # alpha = x2 dx1
        >>> exterior_derivative(J, 1)[0, 0].item()                           # d alpha = -dx12
        -1.0
    """
    D = torch.as_tensor(_d_table(p), dtype=jac.dtype, device=jac.device)
    return torch.einsum("nmi,mik->nk", jac, D)


def torsion(fn: Field, x: torch.Tensor, check: bool = True) -> dict[str, torch.Tensor]:
    """d phi, d*phi and their pointwise g_phi-norms squared for the 3-form field fn at points x (N, 7).

    Returns phi (N,35), metric g (N,7,7), jac (N,7,35), dphi (N,35: a 4-form), dstar (N,21: a
    5-form), dphi_sq and dstar_sq (N,). Raises DegenerateMetricError (naming points) if check.

    Example:
        >>> from labkit.g2_pinn.algebra import phi0
        >>> x = torch.rand(4, 7, dtype=torch.float64)
        >>> t = torsion(lambda y: phi0().expand(y.shape[0], 35) + 0 * y[:, :1], x)
        >>> float(t["dphi_sq"].abs().max()) == 0.0
        True
    """
    if x.dim() != 2 or x.shape[-1] != 7:
        raise ValueError(f"torsion: points must have shape (N, 7), got {tuple(x.shape)}")
    if check:
        with torch.no_grad():
            check_metric(induced_metric(fn(x), check=False), what="metric induced by the 3-form field")

    def fields(y: torch.Tensor) -> torch.Tensor:
        phi = fn(y)
        return torch.cat([phi, hodge_star(phi, induced_metric(phi, check=False), 3)], dim=-1)

    vals, jac = field_jacobian(fields, x)
    phi = vals[:, :35]
    g = induced_metric(phi, check=False)
    dphi = exterior_derivative(jac[..., :35], 3)
    dstar = exterior_derivative(jac[..., 35:], 4)
    return {"phi": phi, "metric": g, "jac": jac[..., :35], "dphi": dphi, "dstar": dstar,
            "dphi_sq": form_norm_sq(dphi, g, 4), "dstar_sq": form_norm_sq(dstar, g, 5)}


def fd_exterior_derivative(fn: Field, x: torch.Tensor, p: int, h: float = 1e-3) -> torch.Tensor:
    """Independent check of d: 4th-order central differences and the alternating-sum formula.

    (d alpha)_{a0..ap} = sum_k (-1)^k d_{a_k} alpha_{a0..^a_k..ap}, evaluated on the full
    antisymmetric tensor (no sign table shared with ``exterior_derivative``).
    """
    grads = []
    with torch.no_grad():
        for m in range(x.shape[-1]):
            e = torch.zeros_like(x)
            e[:, m] = h
            grads.append((-fn(x + 2 * e) + 8 * fn(x + e) - 8 * fn(x - e) + fn(x - 2 * e)) / (12 * h))
        T = form_tensor(torch.stack(grads, dim=1), p)  # (N, m, i1..ip)
        out = []
        for K in index_sets(p + 1):
            acc = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
            for k, a in enumerate(K):
                rest = K[:k] + K[k + 1:]
                where: tuple[slice | int, ...] = (slice(None), a, *rest)
                acc = acc + (-1) ** k * T[where]
            out.append(acc)
    return torch.stack(out, dim=-1)
