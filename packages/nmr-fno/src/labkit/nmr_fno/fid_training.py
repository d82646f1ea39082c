"""Training data and training loop of the FID surrogate (relative L2 of the 1 Hz-broadened FID).

Data are exact trajectories from the batched sector-eigh simulator (float64, CPU or GPU) of
:func:`labkit.nmr_fno.task.task_systems` draws; each (seed, N) gives its own reproducible stream.
Training minimises the mean over systems of ||w (pred - exact)||^2 / ||w exact||^2 with
w(t) = exp(-pi * linewidth * t), i.e. the squared task metric (plus the I1z MSE for the FNO kind),
with AdamW and cosine annealing; batches hold one N each. A checkpoint file makes it resumable.

Example:
    >>> from labkit.nmr_fno.fid_surrogate import FIDSpec, FIDSurrogate
    >>> data = make_fid_data({4: 4}, seed=0)
    >>> sur = FIDSurrogate.build("lines", FIDSpec(n_spins=[4]), hidden=8, head_width=8, slots=2)
    >>> hist = train_fid(sur, data, FIDTrainSettings(epochs=1, batch_size=2))
    >>> len(hist), hist[0]["loss"] < 2.0
    (1, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fid_surrogate import FIDSurrogate
from .systems import SpinSystem
from .task import TASK_LINEWIDTH_HZ, TASK_TIMES, task_systems

__all__ = ["FIDData", "FIDTrainSettings", "make_fid_data", "train_fid"]


@dataclass
class FIDData:
    """Per N: parameter vectors (M, P) and unbroadened exact Mx, My, I1z (M, T) on the task grid."""

    vectors: dict[int, np.ndarray]
    mx: dict[int, np.ndarray]
    my: dict[int, np.ndarray]
    i1z: dict[int, np.ndarray]
    seconds_per_trajectory: dict[int, float]

    def systems(self, n: int) -> list[SpinSystem]:
        """The N-spin systems, in order."""
        return [SpinSystem.from_vector(v, n) for v in self.vectors[n]]

    def count(self) -> int:
        """Total number of systems."""
        return sum(v.shape[0] for v in self.vectors.values())


def make_fid_data(counts: Mapping[int, int], seed: int, device: str = "cpu", chunk: int = 256) -> FIDData:
    """``counts[N]`` task systems per N (stream (seed, N)) with exact trajectories from ``simulate_batch``."""
    import torch

    from .batch import simulate_batch

    vec, mx, my, iz, sec = {}, {}, {}, {}, {}
    for n, c in sorted(counts.items()):
        systems = task_systems(n, c, seed)
        parts = []
        t0 = time.perf_counter()
        for s in range(0, c, chunk):
            out = simulate_batch(systems[s : s + chunk], TASK_TIMES, device=device)
            parts.append({k: v.cpu().numpy() for k, v in out.items()})
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        sec[n] = (time.perf_counter() - t0) / c
        vec[n] = np.stack([s.to_vector() for s in systems])
        mx[n], my[n], iz[n] = (np.concatenate([p[k] for p in parts]) for k in ("Mx", "My", "I1z"))
    return FIDData(vec, mx, my, iz, sec)


@dataclass
class FIDTrainSettings:
    """AdamW + cosine annealing over ``epochs``; batches of one N."""

    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-6
    linewidth_hz: float = TASK_LINEWIDTH_HZ
    seed: int = 0


def train_fid(
    sur: FIDSurrogate,
    data: FIDData,
    settings: FIDTrainSettings | None = None,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> list[dict]:
    """Train ``sur`` in place on ``data``; resumes from ``checkpoint`` (written every epoch) when it exists."""
    import torch

    st = settings or FIDTrainSettings()
    model = sur.model
    dev = next(model.parameters()).device
    dt = next(model.parameters()).dtype
    w = torch.exp(-torch.pi * st.linewidth_hz * torch.as_tensor(TASK_TIMES, dtype=dt, device=dev))
    systems = {n: data.systems(n) for n in data.vectors}
    target = {n: torch.as_tensor(np.stack([data.mx[n], data.my[n], data.i1z[n]], 1), dtype=dt, device=dev) for n in data.vectors}
    batches_per_epoch = sum(-(-len(s) // st.batch_size) for s in systems.values())
    opt = torch.optim.AdamW(model.parameters(), lr=st.lr, weight_decay=st.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=st.lr, total_steps=st.epochs * batches_per_epoch, pct_start=0.05)
    history: list[dict] = []
    ck = Path(checkpoint) if checkpoint else None
    if ck is not None and ck.exists():
        state = torch.load(ck, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        history = list(state["history"])
    for epoch in range(len(history), st.epochs):
        rng = np.random.default_rng([st.seed, epoch])
        order = [(n, idx) for n in systems for idx in np.array_split(rng.permutation(len(systems[n])), -(-len(systems[n]) // st.batch_size))]
        rng.shuffle(order)
        model.train()
        total, t0 = 0.0, time.perf_counter()
        for n, idx in order:
            y = target[n][torch.as_tensor(idx, device=dev)]
            re, im, z = sur.forward_torch([systems[n][i] for i in idx])
            num = (((re - y[:, 0]) * w) ** 2 + ((im - y[:, 1]) * w) ** 2).sum(-1)
            den = ((y[:, 0] * w) ** 2 + (y[:, 1] * w) ** 2).sum(-1)
            loss = (num / den).mean()
            if z is not None:
                loss = loss + ((z - y[:, 2]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        history.append({"epoch": epoch + 1, "loss": total / data.count(), "seconds": time.perf_counter() - t0})
        if log is not None:
            log(f"{sur.kind} epoch {epoch + 1}/{st.epochs}: loss {history[-1]['loss']:.4g} ({history[-1]['seconds']:.1f} s)")
        if ck is not None:
            import io

            from labkit.core import atomic_write_bytes

            buf = io.BytesIO()
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "history": history}, buf)
            atomic_write_bytes(ck, buf.getvalue())
    model.eval()
    return history
