"""Batched torch simulator: many parameter sets of one N at once, on CPU or GPU (sector eigh, batched).

The same block method as `exact.py`, vectorised over a batch with torch.linalg.eigh and batched
GEMMs, so it runs on CUDA. Parameters use the `SpinSystem.to_vector()` layout
[nu_1..nu_N, J_12, J_13, ..., J_(N-1)N] in Hz.

Example:
    >>> import torch
    >>> from labkit.nmr_fno.systems import random_system
    >>> p = torch.tensor(np.stack([random_system(3, seed=s).to_vector() for s in range(4)]))
    >>> out = simulate_batch(p, np.arange(5) * 1e-3)
    >>> tuple(out["Mx"].shape), round(float(out["Mx"][0, 0]), 12)
    ((4, 5), 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from .grid import check_observables, check_times
from .sectors import _bits, iz_diagonal, lowering_block, sector_states
from .systems import SpinSystem, n_params

__all__ = ["EIGH_MODES", "params_to_tensor", "simulate_batch", "simulate_one"]


def _cat(xs: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64)


@lru_cache(maxsize=32)
def _structure(n: int) -> list[dict[str, Any]]:
    """Per sector: spin projections m, flip-flop (src, dst, i, j) lists, F- (k -> k-1) as COO, I1z diagonal."""
    out = []
    for k in range(n + 1):
        states = sector_states(n, k)
        bits = _bits(states, n)
        src, dst, pi, pj = [], [], [], []
        for i in range(n):
            for j in range(i + 1, n):
                s = np.nonzero(bits[:, i] != bits[:, j])[0]
                src.append(s)
                dst.append(np.searchsorted(states, states[s] ^ ((1 << i) | (1 << j))))
                pi.append(np.full(s.size, i))
                pj.append(np.full(s.size, j))
        out.append({
            "m": bits - 0.5,
            "src": _cat(src), "dst": _cat(dst), "i": _cat(pi), "j": _cat(pj),
            # F- as (row, col) index lists: the dense block is built on the device per sector, not cached
            "fminus": lowering_block(n, k).tocoo() if k > 0 else None,
            "iz": iz_diagonal(n, k),
        })
    return out


def params_to_tensor(systems: Sequence[SpinSystem] | np.ndarray | torch.Tensor, n_spins: int | None = None) -> tuple[torch.Tensor, int]:
    """Stack systems (or accept a (B, P) parameter array) into a float64 tensor; returns (params, N)."""
    if isinstance(systems, (list, tuple)) and systems and isinstance(systems[0], SpinSystem):
        ns = {s.n_spins for s in systems}
        if len(ns) != 1:
            raise ValueError(f"systems: a batch must share one spin count, got N in {sorted(ns)}")
        return torch.tensor(np.stack([s.to_vector() for s in systems])), ns.pop()
    p = torch.as_tensor(np.asarray(systems) if not isinstance(systems, torch.Tensor) else systems)
    if p.ndim != 2:
        raise ValueError(f"systems: expected SpinSystems or a (batch, n_params) array, got shape {tuple(p.shape)}")
    if n_spins is None:
        n_spins = round((np.sqrt(8 * p.shape[1] + 1) - 1) / 2)
    if p.shape[1] != n_params(n_spins):
        raise ValueError(f"systems: {n_spins} spins need {n_params(n_spins)} parameters per row, got {p.shape[1]}")
    if not torch.isfinite(p).all():
        raise ValueError("systems: parameters must be finite (got NaN or inf)")
    return p, n_spins


def _unpack(p: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    nu = p[:, :n]
    jm = torch.zeros(p.shape[0], n, n, dtype=p.dtype, device=p.device)
    iu = torch.triu_indices(n, n, offset=1, device=p.device)
    jm[:, iu[0], iu[1]] = p[:, n:]
    return nu, jm + jm.transpose(1, 2)


def _sector_h(nu: torch.Tensor, jm: torch.Tensor, st: dict[str, np.ndarray]) -> torch.Tensor:
    dev, dt = nu.device, nu.dtype
    m = torch.as_tensor(st["m"], dtype=dt, device=dev)
    size = m.shape[0]
    h = torch.zeros(nu.shape[0], size, size, dtype=dt, device=dev)
    diag = nu @ m.T + 0.5 * torch.einsum("si,bij,sj->bs", m, jm, m)
    idx = torch.arange(size, device=dev)
    h[:, idx, idx] = diag
    if st["src"].size:
        src, dst = (torch.as_tensor(st[x], device=dev) for x in ("src", "dst"))
        h[:, src, dst] = 0.5 * jm[:, torch.as_tensor(st["i"], device=dev), torch.as_tensor(st["j"], device=dev)]
    return h


EIGH_MODES = ("device", "cpu-pool", "batched")


def _eigh_pool(blocks: list[torch.Tensor], threads: int | None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """numpy (LAPACK syevd) eigh of every block on a thread pool, each job a stacked slice of one sector's batch
    (one LAPACK loop in C per job, the GIL released); results on the blocks' device."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    workers = threads or os.cpu_count() or 1
    host = [h.cpu().numpy() for h in blocks]
    out = [(np.empty(h.shape[:2]), np.empty(h.shape)) for h in host]
    jobs = []
    for k in sorted(range(len(host)), key=lambda k: -host[k].shape[1]):  # the largest sectors first
        b, size = host[k].shape[:2]
        per = b if size <= 16 else max(1, -(-b // (2 * workers)))  # about two slices per worker for the big sectors
        jobs += [(k, i, min(b, i + per)) for i in range(0, b, per)]

    def one(job: tuple[int, int, int]) -> None:
        k, i, j = job
        out[k][0][i:j], out[k][1][i:j] = np.linalg.eigh(host[k][i:j])

    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, jobs))
    dev, dt = blocks[0].device, blocks[0].dtype
    return [(torch.from_numpy(e).to(dev, dt), torch.from_numpy(v).to(dev, dt)) for e, v in out]


def _eigh_batched(blocks: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One cuSOLVER XsyevBatched call per sector above 32 x 32 (torch's batched Jacobi below)."""
    from .cusolver_eigh import batched_eigh

    if not blocks[0].is_cuda:
        raise ValueError("eigh: 'batched' runs on a CUDA device only; use eigh='device' or 'cpu-pool' on the CPU")
    return [batched_eigh(h) if h.shape[-1] > 32 else torch.linalg.eigh(h) for h in blocks]


def simulate_batch(
    systems: Sequence[SpinSystem] | np.ndarray | torch.Tensor,
    times: Sequence[float] | np.ndarray | None = None,
    device: str | torch.device | None = None,
    observables: Sequence[str] | None = None,
    n_spins: int | None = None,
    dtype: torch.dtype = torch.float64,
    eigh: str = "device",
    eigh_threads: int | None = None,
    **_: Any,
) -> dict[str, torch.Tensor]:
    """Simulate a batch of same-N systems: returns {"Mx", "My", "I1z"} tensors of shape (batch, T).

    ``eigh="device"`` diagonalises every sector with torch.linalg.eigh where the batch lives;
    ``eigh="cpu-pool"`` sends the sector blocks to the CPU, diagonalises them with LAPACK on a pool
    of ``eigh_threads`` threads (default: every core), and brings the eigenvectors back: on a GPU
    that loops over per-matrix syevd calls for blocks above 32 x 32, the pool is faster.
    ``eigh="batched"`` (CUDA only) diagonalises each sector's whole batch in one cuSOLVER
    XsyevBatched call (:mod:`labkit.nmr_fno.cusolver_eigh`).
    """
    t_np = check_times(times)
    obs = check_observables(observables)
    p, n = params_to_tensor(systems, n_spins)
    dev = torch.device(device) if device is not None else p.device
    p = p.to(device=dev, dtype=dtype)
    t = torch.as_tensor(t_np, dtype=dtype, device=dev)
    nu, jm = _unpack(p, n)
    b, nt = p.shape[0], t.numel()
    s_re = torch.zeros(b, nt, dtype=dtype, device=dev)
    s_im = torch.zeros_like(s_re)
    s_z = torch.zeros_like(s_re)
    want_fid = "Mx" in obs or "My" in obs
    if eigh not in EIGH_MODES:
        raise ValueError(f"eigh: must be one of {EIGH_MODES}, got {eigh!r}")
    structure = _structure(n)
    blocks = [_sector_h(nu, jm, st) for st in structure]
    if eigh == "cpu-pool":
        systems_eig = _eigh_pool(blocks, eigh_threads)
    elif eigh == "batched":
        systems_eig = _eigh_batched(blocks)
    else:
        systems_eig = [torch.linalg.eigh(h) for h in blocks]
    prev = None
    for st, (e, v) in zip(structure, systems_eig, strict=True):
        ph = 2.0 * torch.pi * t[None, :, None] * e[:, None, :]  # (B, T, n)
        c, s = torch.cos(ph), torch.sin(ph)
        if "I1z" in obs:
            d = torch.as_tensor(st["iz"], dtype=dtype, device=dev)
            w = (v.transpose(1, 2) @ (d[None, :, None] * v)) ** 2
            s_z += (c * (c @ w)).sum(-1) + (s * (s @ w)).sum(-1)
        if want_fid and prev is not None:
            v_lo, c_lo, s_lo = prev
            coo = st["fminus"]
            fm = torch.zeros(coo.shape, dtype=dtype, device=dev)
            fm[torch.as_tensor(coo.row, device=dev), torch.as_tensor(coo.col, device=dev)] = 1.0
            w = (v_lo.transpose(1, 2) @ (fm @ v)) ** 2  # (B, n_{k-1}, n_k)
            gc, gs = c @ w.transpose(1, 2), s @ w.transpose(1, 2)  # (B, T, n_{k-1})
            s_re += (c_lo * gc + s_lo * gs).sum(-1)
            s_im += (c_lo * gs - s_lo * gc).sum(-1)
        prev = (v, c, s) if want_fid else None
    out: dict[str, torch.Tensor] = {}
    norm = n * 2.0 ** (n - 1)
    if "Mx" in obs:
        out["Mx"] = s_re / norm
    if "My" in obs:
        out["My"] = s_im / norm
    if "I1z" in obs:
        out["I1z"] = s_z / 2.0 ** (n - 2)
    return out


def simulate_one(system: SpinSystem, times: Sequence[float] | np.ndarray | None = None, observables: Sequence[str] | None = None,
                 **options: Any) -> dict[str, np.ndarray]:
    """`simulate_batch` for one system, returning numpy arrays and "t" like the other methods."""
    t = check_times(times)
    res = simulate_batch([system], t, observables=observables, **options)
    return {"t": t, **{k: v[0].cpu().numpy() for k, v in res.items()}}
