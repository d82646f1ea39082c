"""Riemannian curvature of a metric field by forward-mode autodiff (torch.func.jacfwd, vmapped).

Christoffel symbols Gamma^k_ij = 1/2 g^kl (d_i g_jl + d_j g_il - d_l g_ij) and
R^r_smn = d_m Gamma^r_ns - d_n Gamma^r_ms + Gamma^r_ml Gamma^l_ns - Gamma^r_nl Gamma^l_ms;
Ric_sn = R^r_srn, scalar R = g^sn Ric_sn, |Rm|^2 = R_abcd R^abcd (Kretschmann).
The unit round S^n has R = n(n-1); the check lives in tests/g2_pinn/test_curvature.py.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["christoffel", "curvature"]

MetricFn = Callable[[torch.Tensor], torch.Tensor]


def christoffel(g: torch.Tensor, dg: torch.Tensor) -> torch.Tensor:
    """Gamma[k, i, j] from g (d, d) and dg[a, b, c] = d_c g_ab."""
    return 0.5 * torch.einsum("kl,ijl->kij", torch.linalg.inv(g), _lowered(dg))


def _lowered(dg: torch.Tensor) -> torch.Tensor:
    """Gamma_{l, ij} * 2 laid out as [i, j, l] = d_i g_jl + d_j g_il - d_l g_ij."""
    # dg[a, b, c] = d_c g_ab
    d_i_gjl = dg.permute(2, 0, 1)  # [i, j, l] = dg[j, l, i]
    d_j_gil = dg.permute(0, 2, 1)  # [i, j, l] = dg[i, l, j]
    d_l_gij = dg                   # [i, j, l] = dg[i, j, l]
    return d_i_gjl + d_j_gil - d_l_gij


def _single(metric_fn: MetricFn, x: torch.Tensor) -> dict[str, torch.Tensor]:
    def gamma(y: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        g = metric_fn(y)
        dg = torch.func.jacfwd(metric_fn)(y)
        G = christoffel(g, dg)
        return G, (G, g)

    dG, (G, g) = torch.func.jacfwd(gamma, has_aux=True)(x)  # dG[k, i, j, m] = d_m Gamma^k_ij
    R = (torch.einsum("rnsm->rsmn", dG)
         - torch.einsum("rmsn->rsmn", dG)
         + torch.einsum("rml,lns->rsmn", G, G) - torch.einsum("rnl,lms->rsmn", G, G))
    ginv = torch.linalg.inv(g)
    ric = torch.einsum("rsrn->sn", R)
    scalar = torch.einsum("sn,sn->", ginv, ric)
    R_low = torch.einsum("ar,rbcd->abcd", g, R)
    R_up = torch.einsum("abcd,bB,cC,dD->aBCD", R, ginv, ginv, ginv)
    kretschmann = torch.einsum("abcd,abcd->", R_low, R_up)
    ric_up = ginv @ ric @ ginv
    ric_sq = torch.einsum("ab,ab->", ric, ric_up)
    return {"scalar": scalar, "kretschmann": kretschmann, "ricci_sq": ric_sq}


def curvature(metric_fn: MetricFn, x: torch.Tensor, chunk: int = 64) -> dict[str, torch.Tensor]:
    """Scalar curvature, |Ric|^2 and |Rm|^2 at each point x (N, d) of a metric field.

    ``metric_fn`` maps one point (d,) to its metric (d, d) and must be traceable by torch.func
    (no data-dependent Python branches). Results are detached.

    Example:
        >>> from labkit.g2_pinn.geometry import round_neck_metric
        >>> x = torch.tensor([[0.1, 0.7, 0.2, 0.3, 0.5, 1.0, 2.0]], dtype=torch.float64)
        >>> c = curvature(lambda y: round_neck_metric(y, (1.0, 2.0)), x)
        >>> round(float(c["scalar"][0]), 6)   # 6/1 + 6/4
        7.5
    """
    if x.dim() != 2:
        raise ValueError(f"curvature: x must have shape (N, d), got {tuple(x.shape)}")
    outs: list[dict[str, torch.Tensor]] = []
    fn = torch.func.vmap(lambda y: _single(metric_fn, y))
    for s in range(0, x.shape[0], chunk):
        with torch.no_grad():
            outs.append(fn(x[s:s + chunk]))
    return {k: torch.cat([o[k] for o in outs]).detach() for k in outs[0]}
