"""A physics-structured surrogate: a coupling-graph network that corrects the first-order line list.

Each spin i contributes the first-order multiplet e^{2 pi i nu_i t} prod_k cos(pi J_ik t) to the FID.
For the K most strongly coupled neighbours of i (strength J / (|delta nu| + J)) the multiplet is
written as its 2^K lines nu_i + sum_s sigma_s J_s / 2 (sigma = +-1); the network predicts, per line,
a frequency shift (Hz) and an amplitude change, which is the form second-order (strong-coupling)
effects take: lines move by ~J^2 / (2 delta nu) and lean towards each other (roof effect). Couplings to
further neighbours stay first order (a cos(pi J t) factor). The spin's environment comes from
three rounds of message passing over the coupling graph (edge features delta nu, J, J / sqrt(delta nu^2
+ J^2)), so spins beyond the first shell are seen. Everything is translation invariant in the offsets
(only differences enter the network) and the model is the same for every N.

Predictions are line lists, so the FID can be evaluated on any time grid; the model is trained on
the 1 Hz-broadened 1 s task (see :mod:`labkit.nmr_fno.task`).

Example:
    >>> import torch
    >>> from labkit.nmr_fno.task import task_system, first_order_fid
    >>> net = LineNet(LineNetConfig(hidden=16, head_width=16, slots=2))
    >>> s = task_system(4, "ring", seed=0)
    >>> nu, jm = systems_to_tensors([s])
    >>> re, im = net(nu, jm, torch.linspace(0, 0.5, 8, dtype=torch.float64))
    >>> tuple(re.shape)
    (1, 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .systems import SpinSystem

__all__ = ["LineNet", "LineNetConfig", "systems_to_tensors"]


@dataclass
class LineNetConfig:
    """Sizes of the line-correction network."""

    hidden: int = 96
    rounds: int = 3
    slots: int = 5
    head_width: int = 256
    offset_scale: float = 100.0
    j_scale: float = 20.0
    shift_scale: float = 2.0


def systems_to_tensors(systems: Sequence[SpinSystem], dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """(offsets (B, N), couplings (B, N, N)) in Hz for same-N systems."""
    if len({s.n_spins for s in systems}) != 1:
        raise ValueError("systems: a batch must share one spin count")
    nu = torch.tensor(np.stack([s.offsets_hz for s in systems]), dtype=dtype)
    jm = torch.tensor(np.stack([s.couplings_hz for s in systems]), dtype=dtype)
    return nu, jm


def _mlp(n_in: int, width: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, width), nn.GELU(), nn.Linear(width, n_out))


class LineNet(nn.Module):
    """Offsets and couplings (Hz) -> unbroadened FID (Mx, My) on ``times``, via corrected first-order lines."""

    def __init__(self, config: LineNetConfig | None = None) -> None:
        super().__init__()
        cfg = config or LineNetConfig()
        self.config = cfg
        h, k = cfg.hidden, cfg.slots
        self.node0 = _mlp(2, h, h)
        self.message = nn.ModuleList(_mlp(2 * h + 4, h, h) for _ in range(cfg.rounds))
        self.update = nn.ModuleList(_mlp(2 * h, h, h) for _ in range(cfg.rounds))
        last = nn.Linear(cfg.head_width, 2 * 2**k)
        nn.init.zeros_(last.weight)  # start exactly at the first-order solution
        nn.init.zeros_(last.bias)
        self.head = nn.Sequential(
            nn.Linear(h + k * (4 + h), cfg.head_width), nn.GELU(),
            nn.Linear(cfg.head_width, cfg.head_width), nn.GELU(),
            last,
        )
        self.signs: torch.Tensor
        self.register_buffer("signs", torch.tensor([[1.0 if (line >> s) & 1 else -1.0 for s in range(k)] for line in range(2**k)]),
                             persistent=False)  # (L, K)

    def architecture(self) -> dict:
        """The config as a plain dict."""
        return asdict(self.config)

    def lines(self, nu: torch.Tensor, jm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per spin and line: frequency (B, N, L) Hz, amplitude (B, N, L), and the couplings kept first order (B, N, N)."""
        nu, jm, adj, edge, strength, hnode = self._features(nu, jm)
        b, n = nu.shape
        # messages along coupled pairs only (an edge list: the same sums as a masked all-pairs tensor)
        eb, ei, ej = torch.nonzero(adj, as_tuple=True)
        e_feat = edge[eb, ei, ej]
        dst = eb * n + ei
        for msg, upd in zip(self.message, self.update, strict=True):
            m = msg(torch.cat([hnode[eb, ei], hnode[eb, ej], e_feat], dim=-1))
            agg = hnode.new_zeros(b * n, hnode.shape[-1]).index_add_(0, dst, m).view(b, n, -1)
            hnode = hnode + upd(torch.cat([hnode, agg], dim=-1))
        return self._line_list(nu, jm, adj, edge, strength, hnode)

    def lines_static(self, nu: torch.Tensor, jm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`lines` with fixed shapes and no host synchronisation (the batched inference path).

        Messages go over all pairs (B, N, N), masked by the coupling graph, with the message MLP's
        linear layers regrouped exactly: its first layer on [h_i, h_j, e_ij] is W_a h_i + W_b h_j +
        W_e e_ij + b, its second acts after the sum over j (sum_j M2 g_ij + deg_i b2). Equal to
        :meth:`lines` to rounding; it can be captured as a CUDA graph.
        """
        nu, jm, adj, edge, strength, hnode = self._features(nu, jm)
        h = hnode.shape[-1]
        deg = adj.sum(-1, keepdim=True)
        for msg, upd in zip(self.message, self.update, strict=True):
            first, act, second = msg[0], msg[1], msg[2]
            w = first.weight
            own, other = hnode @ w[:, :h].t(), hnode @ w[:, h:2 * h].t()
            g = act(own[:, :, None, :] + other[:, None, :, :] + (edge @ w[:, 2 * h:].t() + first.bias)) * adj[..., None]
            agg = g.sum(2) @ second.weight.t() + deg * second.bias
            hnode = hnode + upd(torch.cat([hnode, agg], dim=-1))
        return self._line_list(nu, jm, adj, edge, strength, hnode)

    def _features(self, nu: torch.Tensor, jm: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Inputs in the model's dtype, the coupling graph and coupling strengths (B, N, N), edge features (B, N, N, 4), first node states."""
        cfg = self.config
        dt = self.signs.dtype
        nu, jm = nu.to(dt), jm.to(dt)
        adj = (jm != 0).to(dt)
        delta = nu[:, None, :] - nu[:, :, None]  # delta[i, j] = nu_j - nu_i
        strength = jm.abs() / (delta.abs() + jm.abs() + 1e-12)
        mix = jm / torch.sqrt(delta**2 + jm**2 + 1e-12)
        edge = torch.stack([delta / cfg.offset_scale, jm / cfg.j_scale, mix, adj], dim=-1)  # (B, N, N, 4)
        hnode = self.node0(torch.stack([adj.sum(-1) / 4.0, jm.abs().sum(-1) / (2 * cfg.j_scale)], dim=-1))
        return nu, jm, adj, edge, strength, hnode

    def _line_list(self, nu: torch.Tensor, jm: torch.Tensor, adj: torch.Tensor, edge: torch.Tensor, strength: torch.Tensor,
                   hnode: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The K strongest neighbours of each spin as slots, the head's line corrections, and the couplings left first order."""
        cfg = self.config
        b, n = nu.shape
        k = cfg.slots
        # the K strongest neighbours of each spin (empty slots have J = 0 and mask 0)
        kk = min(k, n - 1)
        top = torch.topk(strength * adj - (1 - adj), kk, dim=-1).indices  # (B, N, kk)
        slot_mask = torch.gather(adj, 2, top)
        slot_j = torch.gather(jm, 2, top) * slot_mask
        slot_edge = torch.gather(edge, 2, top[..., None].expand(b, n, kk, 4)) * slot_mask[..., None]
        slot_h = torch.gather(hnode[:, None, :, :].expand(b, n, n, -1), 2, top[..., None].expand(b, n, kk, hnode.shape[-1]))
        slot_h = slot_h * slot_mask[..., None]
        if kk < k:  # fewer spins than slots: pad with empty slots
            pad = k - kk
            slot_j = torch.cat([slot_j, slot_j.new_zeros(b, n, pad)], dim=-1)
            slot_edge = torch.cat([slot_edge, slot_edge.new_zeros(b, n, pad, 4)], dim=2)
            slot_h = torch.cat([slot_h, slot_h.new_zeros(b, n, pad, slot_h.shape[-1])], dim=2)
        out = self.head(torch.cat([hnode, slot_edge.flatten(2), slot_h.flatten(2)], dim=-1))  # (B, N, 2L)
        n_lines = 2**k
        shift, amp = out[..., :n_lines] * cfg.shift_scale, 1.0 + out[..., n_lines:]
        freq = nu[..., None] + 0.5 * (slot_j[:, :, None, :] * self.signs).sum(-1) + shift
        rest = jm.clone()
        rest.scatter_(2, top, 0.0)
        return freq, amp, rest

    def forward(self, nu: torch.Tensor, jm: torch.Tensor, times: torch.Tensor, step: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Unbroadened (Mx, My), each (B, T), on ``times`` (s); ``step``: dt when the caller knows t_m = m dt."""
        freq, amp, rest = self.lines(nu, jm)
        t = times.to(freq.dtype)
        n = nu.shape[1]
        w = amp / amp.shape[-1]
        step = _uniform_step(t) if step is None else step
        if step is None:
            ph = 2 * torch.pi * freq[..., None] * t  # (B, N, L, T)
            re = torch.einsum("bnl,bnlt->bnt", w, torch.cos(ph))
            im = torch.einsum("bnl,bnlt->bnt", w, torch.sin(ph))
        else:
            re, im = _uniform_line_sum(freq, w, step, t.numel())
        if bool((rest != 0).any()):  # couplings beyond the K slots stay first order: a cos(pi J t) factor each
            env = torch.prod(torch.cos(torch.pi * rest[..., None] * t), dim=2)  # (B, N, T)
            re, im = re * env, im * env
        return re.sum(1) / n, im.sum(1) / n

    def forward_static(self, nu: torch.Tensor, jm: torch.Tensor, dt: float, nt: int) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` on the uniform grid t_m = m dt (m < nt) with fixed shapes and no host synchronisation.

        Uses :meth:`lines_static`; the first-order cos(pi J t) factors of couplings beyond the K slots are
        applied whenever N - 1 > K (a factor cos(0) = 1 where a spin has none), so the result is
        :meth:`forward` to rounding, and the whole call can be captured as a CUDA graph.
        """
        freq, amp, rest = self.lines_static(nu, jm)
        n = nu.shape[1]
        re, im = _uniform_line_sum(freq, amp / amp.shape[-1], dt, nt)
        if n - 1 > self.config.slots:  # rest is exactly zero otherwise
            t = torch.arange(nt, dtype=freq.dtype, device=freq.device) * dt
            env = torch.prod(torch.cos(torch.pi * rest[..., None] * t), dim=2)  # (B, N, T)
            re, im = re * env, im * env
        return re.sum(1) / n, im.sum(1) / n

_FINE = 32  # the uniform-grid path evaluates e^{2 pi i f m dt} as e^{2 pi i f c dt} e^{2 pi i f (32 a) dt}, m = 32 a + c


def _uniform_step(t: torch.Tensor) -> float | None:
    """dt when t_m = m dt exactly (to 1e-9 relative), else None."""
    if t.numel() < 2 or float(t[0]) != 0.0:
        return None
    dt = float(t[1])
    ok = dt > 0 and bool(torch.allclose(t, torch.arange(t.numel(), dtype=t.dtype, device=t.device) * dt, rtol=1e-9, atol=1e-12))
    return dt if ok else None


def _uniform_line_sum(freq: torch.Tensor, w: torch.Tensor, dt: float, nt: int) -> tuple[torch.Tensor, torch.Tensor]:
    """sum_l w_l e^{2 pi i f_l m dt}, m < nt, with (32 + nt / 32) sines and cosines per line instead of nt."""
    coarse = -(-nt // _FINE)
    c = torch.arange(_FINE, dtype=freq.dtype, device=freq.device) * dt
    a = torch.arange(coarse, dtype=freq.dtype, device=freq.device) * (_FINE * dt)
    pf = 2 * torch.pi * freq[..., None] * c  # (B, N, L, 32)
    pc = 2 * torch.pi * freq[..., None] * a  # (B, N, L, coarse)
    fr, fi = torch.cos(pf) * w[..., None], torch.sin(pf) * w[..., None]
    cr, ci = torch.cos(pc), torch.sin(pc)
    # (B, N, 32, L) @ (B, N, L, coarse) -> (B, N, 32, coarse); time index m = 32 a + c
    ft = (fr.transpose(-1, -2), fi.transpose(-1, -2))
    re = ft[0] @ cr - ft[1] @ ci
    im = ft[0] @ ci + ft[1] @ cr
    b, n = freq.shape[:2]
    return (re.transpose(-1, -2).reshape(b, n, -1)[..., :nt], im.transpose(-1, -2).reshape(b, n, -1)[..., :nt])
