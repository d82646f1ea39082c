"""GPU path of the diffusion-map spectrum: chunked torch distances, radius-truncated kernel, cupyx eigsh.

Same estimator as the scipy path (radius truncation, alpha = 1, symmetric conjugate, log
eigenvalue map); the kernel is built in row chunks so 100k points fit in GPU memory. CuPy's
eigsh is used when importable, otherwise the matrix goes back to scipy's eigsh.
"""

from __future__ import annotations

import numpy as np


def _kernel_coo(pts, g, epsilon: float, r2: float, period: float | None, device: str, chunk: int = 2048):
    import torch

    X = torch.as_tensor(pts, device=device)
    G = None if g is None else torch.as_tensor(g, device=device)
    rows, cols, vals = [], [], []
    for s in range(0, X.shape[0], chunk):
        xa = X[s:s + chunk]
        if G is None and period is None:
            d2 = torch.cdist(xa, X).pow_(2)
        else:
            delta = xa[:, None, :] - X[None, :, :]
            if period is not None:
                delta -= period * torch.round(delta / period)
            if G is None:
                d2 = (delta ** 2).sum(-1)
            else:
                gm = 0.5 * (G[s:s + chunk, None] + G[None, :])
                d2 = torch.einsum("abi,abij,abj->ab", delta, gm, delta)
        i, j = torch.nonzero(d2 < r2, as_tuple=True)
        rows.append(i + s)
        cols.append(j)
        vals.append(torch.exp(-d2[i, j] / epsilon))
    return torch.cat(rows), torch.cat(cols), torch.cat(vals), X.shape[0]


def gpu_eigenvalues(pts: np.ndarray, g: np.ndarray | None, epsilon: float, r2: float, n: int,
                    period: float | None, device: str) -> tuple[np.ndarray, int]:
    """Eigenvalues (sorted, lambda_0 first) and kernel nnz, computed on ``device``."""
    import torch

    i, j, v, N = _kernel_coo(pts, g, epsilon, r2, period, device)
    q = torch.zeros(N, dtype=v.dtype, device=v.device).index_add_(0, i, v)
    v1 = v / (q[i] * q[j])                                  # alpha = 1 density normalisation
    d = torch.zeros(N, dtype=v.dtype, device=v.device).index_add_(0, i, v1)
    vs = v1 / torch.sqrt(d[i] * d[j])                       # symmetric conjugate of the Markov matrix
    try:
        import cupy
        import cupyx.scipy.sparse as csp
        from cupyx.scipy.sparse.linalg import eigsh as ceigsh

        S = csp.coo_matrix((cupy.from_dlpack(vs), (cupy.from_dlpack(i), cupy.from_dlpack(j))), shape=(N, N)).tocsr()
        mu = cupy.asnumpy(ceigsh(S, k=n, which="LA", return_eigenvectors=False))
    except ImportError:
        import scipy.sparse as sp
        from scipy.sparse.linalg import eigsh

        S = sp.coo_matrix((vs.cpu().numpy(), (i.cpu().numpy(), j.cpu().numpy())), shape=(N, N)).tocsr()
        mu = eigsh(S, k=n, which="LA", tol=1e-10, return_eigenvectors=False)
    lam = np.sort(-4.0 * np.log(np.clip(mu, 1e-300, None)) / epsilon)
    return lam, int(v.numel())
