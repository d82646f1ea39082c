"""NumPy inference of a trained :class:`~labkit.nmr_fno.line_model.LineNet` (the CPU ``predict`` path).

The same function as ``LineNet.forward`` (eval mode), written for small batches where torch's per-op
overhead dominates: weights are used in their own dtype (float32 for the
shipped model; small products in numpy, large ones and GELU through torch's kernels on the same
memory, views of the weights, so in-place updates are seen), and two linear maps are regrouped
exactly, so only rounding changes:
- a message MLP's first layer on the concatenation [h_i, h_j, e_ij] is W_a h_i + W_b h_j + W_e e_ij,
  so W_a h and W_b h are computed once per node and gathered per edge;
- its second layer is linear, so it acts after the sum over the incoming edges of a node:
  sum_e (M2 g_e + b2) = M2 sum_e g_e + deg b2.
The line list is then evaluated in float64 on a uniform grid t_m = m dt through
e^{2 pi i f m dt} = e^{2 pi i f c dt} e^{2 pi i f (32 a) dt} (m = 32 a + c), the two power tables
formed by doubling from one exponential each, and one small complex matrix product per spin.

Example:
    >>> import torch
    >>> from labkit.nmr_fno.line_model import LineNet, LineNetConfig, systems_to_tensors
    >>> from labkit.nmr_fno.task import TASK_TIMES, task_system
    >>> net = LineNet(LineNetConfig(hidden=8, head_width=8, slots=2)).eval()
    >>> s = task_system(4, "ring", seed=0)
    >>> re, im = LineNetNumpy(net).fid(np.stack([s.offsets_hz]), np.stack([s.couplings_hz]), float(TASK_TIMES[1]), 512)
    >>> with torch.no_grad():
    ...     ref = net(*systems_to_tensors([s], torch.float32), torch.as_tensor(TASK_TIMES, dtype=torch.float32))
    >>> bool(np.abs(re - ref[0].double().numpy()).max() < 1e-4)
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .grid import phasor_powers

__all__ = ["LineNetNumpy"]

_FINE = 32  # time index m = 32 a + c, c < 32
_TORCH_MM = 1 << 19  # products of more multiply-adds than this go through torch's CPU kernels, smaller ones through numpy


class _Dense:
    """One linear map x @ W^T + b on views of a layer's weights (no copies: in-place weight updates are seen)."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor | None) -> None:
        self.tw, self.tb = w.detach(), (b.detach() if b is not None else None)
        self.w = self.tw.numpy().T  # (in, out), a transposed view
        self.b = self.tb.numpy() if self.tb is not None else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] * self.w.size > _TORCH_MM:
            xt = torch.from_numpy(np.ascontiguousarray(x))
            y = torch.addmm(self.tb, xt, self.tw.t()) if self.tb is not None else xt @ self.tw.t()
            return y.numpy()
        y = x @ self.w
        return y + self.b if self.b is not None else y


class _SegmentSum:
    """out[r] = sum of the rows g[e] with dst[e] = r: a 0/1 matrix product when small, else torch's index_add."""

    def __init__(self, dst: np.ndarray, rows: int, dtype: type) -> None:
        self.dst, self.rows, self.sel = dst, rows, None
        if rows * dst.size <= 1 << 16:
            self.sel = np.zeros((rows, dst.size), dtype=dtype)
            self.sel[dst, np.arange(dst.size)] = 1

    def __call__(self, g: np.ndarray) -> np.ndarray:
        if self.sel is not None:
            return self.sel @ g
        out = torch.from_numpy(np.zeros((self.rows, g.shape[1]), dtype=g.dtype))
        return out.index_add_(0, torch.from_numpy(self.dst), torch.from_numpy(np.ascontiguousarray(g))).numpy()


def _gelu(x: np.ndarray) -> np.ndarray:
    """torch's exact GELU, x (1 + erf(x / sqrt 2)) / 2, on a numpy array (no copy in or out)."""
    return torch.nn.functional.gelu(torch.from_numpy(np.ascontiguousarray(x))).numpy()


class LineNetNumpy:
    """Frozen copy of a LineNet's weights; :meth:`fid` gives the unbroadened (Mx, My) on a uniform grid."""

    def __init__(self, net: Any) -> None:
        cfg = net.config
        self.dtype = net.signs.numpy().dtype.type
        self.h, self.k = cfg.hidden, cfg.slots
        self.offset_scale, self.j_scale, self.shift_scale = cfg.offset_scale, cfg.j_scale, cfg.shift_scale
        h = cfg.hidden

        def lin(layer: Any) -> _Dense:
            return _Dense(layer.weight, layer.bias)

        self.node0 = (lin(net.node0[0]), lin(net.node0[2]))
        # message first layer on [h_i, h_j, e_ij]: W_a h_i + W_b h_j + (W_e e_ij + b), W_a h and W_b h once per node;
        # its second layer after the sum over a node's incoming edges; the update's first layer on [h, agg] in two parts
        self.rounds = []
        for msg, upd in zip(net.message, net.update, strict=True):
            w1, w2 = msg[0].weight, upd[0].weight
            self.rounds.append((_Dense(w1[:, :h], None), _Dense(w1[:, h:2 * h], None), _Dense(w1[:, 2 * h:], msg[0].bias),
                                lin(msg[2]), _Dense(w2[:, :h], upd[0].bias), _Dense(w2[:, h:], None), lin(upd[2])))
        self.head = (lin(net.head[0]), lin(net.head[2]), lin(net.head[4]))
        self.signs_half = 0.5 * net.signs.numpy().T  # (K, L)

    def lines(self, nu: np.ndarray, jm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per spin and line: frequency (B, N, L) Hz, amplitude (B, N, L), and the couplings kept first order (B, N, N)."""
        f = self.dtype
        nu, jm = np.asarray(nu, dtype=f), np.asarray(jm, dtype=f)
        b, n = nu.shape
        k, h = self.k, self.h
        adj = (jm != 0).astype(f)
        delta = nu[:, None, :] - nu[:, :, None]
        aj = np.abs(jm)
        strength = aj / (np.abs(delta) + aj + f(1e-12))
        mix = jm / np.sqrt(delta**2 + jm**2 + f(1e-12))
        edge = np.stack([delta / f(self.offset_scale), jm / f(self.j_scale), mix, adj], axis=-1)  # (B, N, N, 4)
        x0 = np.stack([adj.sum(-1) / f(4.0), aj.sum(-1) / f(2 * self.j_scale)], axis=-1).reshape(b * n, 2)
        hnode = self.node0[1](_gelu(self.node0[0](x0)))  # (B N, h)
        eb, ei, ej = np.nonzero(adj)
        dst, src = eb * n + ei, eb * n + ej
        deg = adj.reshape(b * n, n).sum(-1)[:, None]
        e_feat = edge[eb, ei, ej]
        segment_sum = _SegmentSum(dst, b * n, f)
        for wa, wb, we, second, ua, ub, last in self.rounds:
            g = _gelu(wa(hnode)[dst] + wb(hnode)[src] + we(e_feat))  # (E, h), before the message's 2nd layer
            agg = segment_sum(g) @ second.w + deg * second.b  # sum_e (M2 g_e + b2)
            hnode = hnode + last(_gelu(ua(hnode) + ub(agg)))
        kk = min(k, n - 1)
        score = (strength * adj - (1 - adj)).reshape(b * n, n)
        top = np.argsort(-score, axis=-1, kind="stable")[:, :kk]  # (B N, kk), strongest first, as torch.topk
        rows = np.arange(b * n)[:, None]
        base = (np.arange(b) * n).repeat(n)[:, None]
        mask = adj.reshape(b * n, n)[rows, top]
        slot_j = jm.reshape(b * n, n)[rows, top] * mask
        slot_edge = edge.reshape(b * n, n, 4)[rows, top] * mask[..., None]
        slot_h = hnode[base + top] * mask[..., None]
        if kk < k:  # fewer spins than slots: empty slots
            pad = k - kk
            slot_j = np.concatenate([slot_j, np.zeros((b * n, pad), f)], axis=1)
            slot_edge = np.concatenate([slot_edge, np.zeros((b * n, pad, 4), f)], axis=1)
            slot_h = np.concatenate([slot_h, np.zeros((b * n, pad, h), f)], axis=1)
        h0, h1, h2 = self.head
        out = h2(_gelu(h1(_gelu(h0(np.concatenate([hnode, slot_edge.reshape(b * n, -1), slot_h.reshape(b * n, -1)], axis=1))))))
        n_lines = self.signs_half.shape[1]
        freq = nu.reshape(b * n, 1) + slot_j @ self.signs_half + out[:, :n_lines] * f(self.shift_scale)
        amp = 1 + out[:, n_lines:]
        rest = jm.copy()
        np.put_along_axis(rest.reshape(b * n, n), top, 0, axis=1)
        return freq.reshape(b, n, n_lines), amp.reshape(b, n, n_lines), rest

    def fid(self, nu: np.ndarray, jm: np.ndarray, dt: float, nt: int) -> tuple[np.ndarray, np.ndarray]:
        """Unbroadened (Mx, My), each (B, nt) float64, on t_m = m dt (offsets (B, N), couplings (B, N, N) in Hz)."""
        freq, amp, rest = self.lines(nu, jm)
        b, n, n_lines = freq.shape
        coarse = -(-nt // _FINE)
        zf, z32 = phasor_powers(np.exp((2j * np.pi * dt) * freq.astype(np.float64).reshape(-1)), _FINE)  # (32, B N L): e^{2 pi i f c dt}
        zc, _ = phasor_powers(z32, coarse)  # (coarse, B N L): e^{2 pi i f 32 a dt}
        zc *= amp.astype(np.float64).reshape(-1) / n_lines
        # per spin: (coarse, L) @ (L, 32) -> (coarse, 32), time index m = 32 a + c
        sig = np.matmul(zc.reshape(coarse, b * n, n_lines).transpose(1, 0, 2), zf.reshape(_FINE, b * n, n_lines).transpose(1, 2, 0))
        sig = sig.reshape(b, n, coarse * _FINE)[..., :nt]
        rb, ri, rk = np.nonzero(rest)  # couplings beyond the K slots stay first order: a cos(pi J t) factor each
        if rb.size:
            first = np.flatnonzero(np.r_[True, (rb[1:] != rb[:-1]) | (ri[1:] != ri[:-1])])  # one group per spin
            env = np.cos((np.pi * rest[rb, ri, rk].astype(np.float64))[:, None] * (np.arange(nt) * dt))
            sig[rb[first], ri[first]] *= np.multiply.reduceat(env, first, axis=0)
        total = sig.sum(1) / n
        return total.real, total.imag

