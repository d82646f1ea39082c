"""The FID surrogate of the fixed task: systems in, broadened (Mx, My) and I1z out, as `simulate` returns them.

Two model kinds share this wrapper, trained the same way (relative L2 of the 1 Hz-broadened FID):
- ``"lines"``: :class:`~labkit.nmr_fno.line_model.LineNet`, corrected first-order line lists (any grid);
- ``"fno"``: :class:`~labkit.nmr_fno.fno.FNO1d` on the task grid (first-order precession lift and residual).

Linewidths: a prediction is the unbroadened signal times exp(-pi * linewidth * t); the accuracy is
measured and documented at the trained 1 Hz. Broader lines weight late-time errors less (the error
can only shrink); narrower lines weight them more, so the documented accuracy does not carry over
below 1 Hz. Offsets or couplings outside the trained range raise ``OutOfRangeWarning`` (the line model
still evaluates, since only offset differences and couplings enter it; the error is then unmeasured).
I1z of the ``"lines"`` kind is the two-spin transfer formula 1 - sum_k (J_1k / w_1k)^2 sin^2(pi w_1k t),
w = sqrt(delta nu^2 + J^2), not learned.

Example:
    >>> from labkit.nmr_fno.task import task_system
    >>> sur = FIDSurrogate.build("lines", FIDSpec(n_spins=[4]), hidden=8, head_width=8, slots=2)
    >>> out = sur.predict([task_system(4, seed=0)], linewidth_hz=1.0)
    >>> sorted(out), out["Mx"].shape, round(float(out["Mx"][0, 0]), 6)
    (['I1z', 'Mx', 'My', 't'], (1, 512), 1.0)
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .surrogate import OutOfRangeWarning, out_of_range_reasons
from .systems import SpinSystem
from .task import TASK_J_RANGE, TASK_LINEWIDTH_HZ, TASK_OFFSET_RANGE, TASK_TIMES, TASK_TOPOLOGIES, broaden

__all__ = ["KINDS", "PRETRAINED_FILE", "FIDSpec", "FIDSurrogate", "pair_transfer_i1z", "pair_transfer_torch"]

KINDS = ("lines", "fno")
PRETRAINED_FILE = "pretrained/fid_surrogate.pt"
ARTIFACT_NAME = "surrogate"  # the artifact a run stores its trained surrogate under


@dataclass
class FIDSpec:
    """What the surrogate was trained for (the task of :mod:`labkit.nmr_fno.task`)."""

    n_spins: list[int] = field(default_factory=lambda: [6, 8, 10])
    offset_range: tuple[float, float] = TASK_OFFSET_RANGE
    j_range: tuple[float, float] = TASK_J_RANGE
    topologies: list[str] = field(default_factory=lambda: list(TASK_TOPOLOGIES))
    linewidth_hz: float = TASK_LINEWIDTH_HZ
    n_t: int = TASK_TIMES.size

    def out_of_range(self, system: SpinSystem) -> list[str]:
        """Reasons why ``system`` lies outside the trained range (empty when inside)."""
        return out_of_range_reasons(system, self.n_spins, self.offset_range, self.j_range)


def pair_transfer_i1z(systems: Sequence[SpinSystem], times: np.ndarray) -> np.ndarray:
    """I1z(t) from rho0 = I1z by independent two-spin transfers, (B, T).

    >>> pair_transfer_i1z([SpinSystem([0.0, 0.0], [[0, 10.0], [10.0, 0]])], np.array([0.0, 0.05])).round(12).tolist()
    [[1.0, 0.0]]
    """
    t = np.asarray(times, dtype=np.float64)
    out = np.ones((len(systems), t.size))
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(systems):
        groups.setdefault(s.n_spins, []).append(i)
    for idx in groups.values():
        nu = np.stack([systems[i].offsets_hz for i in idx])
        jm = np.stack([systems[i].couplings_hz for i in idx])
        out[idx] = _pair_transfer(nu, jm, t)
    return out


def _pair_transfer(nu: np.ndarray, jm: np.ndarray, t: np.ndarray) -> np.ndarray:
    """1 - sum_k (J_1k / w_1k)^2 sin^2(pi w_1k t) for offsets (B, N) and couplings (B, N, N); only J_1k != 0 contribute."""
    b, k = np.nonzero(jm[:, 0, 1:])  # row-major: the terms of one system are contiguous
    out = np.ones((nu.shape[0], t.size))
    if b.size:
        j = jm[b, 0, k + 1]
        w = np.sqrt((nu[b, 0] - nu[b, k + 1]) ** 2 + j**2) + 1e-300
        terms = (j / w)[:, None] ** 2 * np.sin(np.pi * w[:, None] * t) ** 2
        rows, first = np.unique(b, return_index=True)
        out[rows] -= np.add.reduceat(terms, first, axis=0)
    return out


def pair_transfer_torch(nu: Any, jm: Any, t: Any) -> Any:
    """:func:`pair_transfer_i1z` on torch tensors (float64, any device): offsets (B, N), couplings (B, N, N), times (T) -> (B, T).

    The same formula and order of operations; every k enters, a J_1k = 0 term is exactly 0. No host
    synchronisation (it runs inside the GPU ``predict`` graph).

    >>> import torch
    >>> pair_transfer_torch(torch.zeros(1, 2), torch.tensor([[[0, 10.0], [10.0, 0]]]), torch.tensor([0.0, 0.05])).round(decimals=12).tolist()
    [[1.0, 0.0]]
    """
    import torch

    j = jm[:, 0, 1:]
    w = torch.sqrt((nu[:, :1] - nu[:, 1:]) ** 2 + j**2) + 1e-300
    return 1 - (((j / w) ** 2)[..., None] * torch.sin(torch.pi * w[..., None] * t) ** 2).sum(1)


class FIDSurrogate:
    """A trained model of one kind with its :class:`FIDSpec`; ``times`` is the task grid."""

    def __init__(self, kind: str, model: Any, spec: FIDSpec) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind: must be one of {KINDS}, got {kind!r}")
        self.kind, self.model, self.spec = kind, model, spec
        model.eval()  # inference mode by default; train_fid switches to training and back
        self.times = TASK_TIMES.copy()  # the uniform task grid t_m = m / 512 s (the line model's fast path relies on it)
        self._times_cache: dict[str, Any] = {}
        self._decay: dict[float, np.ndarray] = {}  # exp(-pi * linewidth * t) per linewidth
        self._engine: tuple[Any, list, tuple | None, Any] | None = None  # model, its parameters, their addresses, LineNetNumpy
        self._grid_dev: dict[tuple[str, float], tuple[Any, Any]] = {}  # (device, linewidth) -> (times, decay) float64 tensors
        self._replay: Any = None  # GraphReplay of _lines_batch (torch route)
        self.cuda_graphs = True  # the torch route of a ``lines`` model on a GPU replays CUDA graphs (False: eager kernels)

    @classmethod
    def build(cls, kind: str, spec: FIDSpec | None = None, **sizes: Any) -> FIDSurrogate:
        """A freshly initialised surrogate; ``sizes`` go to LineNetConfig or FNOConfig."""
        spec = spec or FIDSpec()
        if kind == "lines":
            from .line_model import LineNet, LineNetConfig

            return cls(kind, LineNet(LineNetConfig(**sizes)), spec)
        if kind == "fno":
            from .fno import FNO1d, FNOConfig

            cfg = FNOConfig(**{"modes": 64, "width": 32, "n_layers": 4, "dropout": 0.0, **sizes})
            cfg.n_max, cfg.n_t, cfg.t_max = max(spec.n_spins), spec.n_t, float(spec.n_t * (TASK_TIMES[1] - TASK_TIMES[0]))
            return cls(kind, FNO1d(cfg), spec)
        raise ValueError(f"kind: must be one of {KINDS}, got {kind!r}")

    # -- prediction ---------------------------------------------------------------------------
    def forward_torch(self, systems: Sequence[SpinSystem]) -> tuple[Any, Any, Any]:
        """Unbroadened (Mx, My, I1z or None) torch tensors of same-N systems, with gradients (training)."""
        import torch

        dev = next(self.model.parameters()).device
        dt = next(self.model.parameters()).dtype
        if self.kind == "lines":
            from .line_model import systems_to_tensors

            nu, jm = systems_to_tensors(systems, dt)
            key = (dt, dev)
            if self._times_cache.get("key") != key:  # the grid as a tensor, made once per dtype and device
                self._times_cache = {"key": key, "t": torch.as_tensor(self.times, dtype=dt, device=dev)}
            re, im = self.model(nu.to(dev), jm.to(dev), self._times_cache["t"], step=float(self.times[1]))
            return re, im, None
        from .surrogate import encode_systems

        c = self.model.config
        x = torch.from_numpy(encode_systems(systems, c.n_max, c.offset_scale, c.j_scale)).to(dev, dt)
        out = self.model(x)
        return out[:, 0], out[:, 1], out[:, 2]

    def _cpu_engine(self) -> Any:
        """The NumPy inference copy of a ``lines`` model that lives on the CPU (rebuilt when a weight changes), else None."""
        if self.kind != "lines":
            return None
        params = self._engine[1] if self._engine is not None and self._engine[0] is self.model else list(self.model.parameters())
        if params[0].device.type != "cpu":
            return None
        # the engine reads views of the weights (in-place updates are seen); a rebound or moved weight gives a new address
        key = (*(p.data_ptr() for p in params), params[0].dtype)
        if self._engine is None or self._engine[0] is not self.model or self._engine[2] != key:
            from .line_infer import LineNetNumpy

            self._engine = (self.model, params, key, LineNetNumpy(self.model))
        return self._engine[3]

    def _decay_for(self, linewidth_hz: float) -> np.ndarray:
        lw = float(linewidth_hz)
        if lw not in self._decay:
            if len(self._decay) > 16:
                self._decay.clear()
            self._decay[lw] = broaden(np.ones(self.times.size), self.times, lw)
        return self._decay[lw]

    def _grid_on(self, dev: Any, linewidth_hz: float) -> tuple[Any, Any]:
        """The task grid and the decay exp(-pi * linewidth * t) as float64 tensors on ``dev``."""
        import torch

        key = (str(dev), float(linewidth_hz))
        if key not in self._grid_dev:
            if len(self._grid_dev) > 16:
                self._grid_dev.clear()
            self._grid_dev[key] = (torch.from_numpy(self.times).to(dev), torch.from_numpy(self._decay_for(linewidth_hz)).to(dev))
        return self._grid_dev[key]

    def _lines_batch(self, nu: Any, jm: Any, t: Any, decay: Any) -> Any:
        """(3, B, T) float64: broadened Mx, My and I1z of same-N systems (offsets, couplings float64 on the model's device).

        Fixed shapes, no host synchronisation: on a GPU it is replayed as one CUDA graph.
        """
        import torch

        re, im = self.model.forward_static(nu, jm, float(self.times[1]), self.times.size)
        return torch.stack([re.double() * decay, im.double() * decay, pair_transfer_torch(nu, jm, t)])

    def _predict_torch(self, systems: list[SpinSystem], groups: list[np.ndarray], stacked: list[tuple[np.ndarray, np.ndarray]],
                       linewidth_hz: float, batch_size: int) -> Any:
        """(3, B, T) float64 tensor on the model's device (broadened Mx, My; I1z) in the order of the concatenated ``groups``.

        On a GPU the work is only queued when this returns: the caller overlaps host work with it before the one download.
        """
        import torch

        params = list(self.model.parameters())
        dev = params[0].device
        t, decay = self._grid_on(dev, linewidth_hz)
        if self.kind == "lines":
            if self._replay is None:
                from .graph_replay import GraphReplay

                self._replay = GraphReplay(self._lines_batch)
            self._replay.enabled = self.cuda_graphs
            key = (*(p.data_ptr() for p in params), params[0].dtype)  # a moved or rebound weight needs a new graph
        parts = []
        with torch.no_grad():  # not inference_mode: tensors cached here (the grid) are reused by training
            for idx, (nu, jm) in zip(groups, stacked, strict=True):
                if self.kind == "lines":
                    nu_d, jm_d = torch.from_numpy(nu).to(dev), torch.from_numpy(jm).to(dev)
                for start in range(0, len(idx), batch_size):
                    stop = start + batch_size
                    if self.kind == "lines":
                        parts.append(self._replay(key, nu_d[start:stop], jm_d[start:stop], t, decay))
                    else:
                        re, im, z = self.forward_torch([systems[i] for i in idx[start:stop]])
                        parts.append(torch.stack([re.double() * decay, im.double() * decay, z.double()]))
            return parts[0] if len(parts) == 1 else torch.cat(parts, 1)

    def _range_suspects(self, groups: list[np.ndarray], stacked: list[tuple[np.ndarray, np.ndarray]], size: int) -> np.ndarray:
        """Indices of the systems that may lie outside the trained range (a superset of those that do), in order."""
        lo, hi = self.spec.offset_range
        jlo, jhi = self.spec.j_range
        flagged = np.zeros(size, dtype=bool)
        for idx, (nu, jm) in zip(groups, stacked, strict=True):
            if nu.shape[1] not in self.spec.n_spins:
                flagged[idx] = True
                continue
            aj = np.abs(jm).reshape(len(idx), -1)
            nz = aj > 0
            jmin = np.where(nz, aj, np.inf).min(1)
            flagged[idx] = ((nu.min(1) < lo - 1e-9) | (nu.max(1) > hi + 1e-9)
                            | (nz.any(1) & ((jmin < jlo - 1e-9) | (aj.max(1) > jhi + 1e-9))))
        return np.flatnonzero(flagged)

    def _warn_out_of_range(self, systems: list[SpinSystem], groups: list[np.ndarray], stacked: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """One ``OutOfRangeWarning`` per system outside the trained range, naming why."""
        for i in self._range_suspects(groups, stacked, len(systems)):
            if r := self.spec.out_of_range(systems[i]):
                warnings.warn(f"system {i} is outside the trained range: {'; '.join(r)}", OutOfRangeWarning, stacklevel=3)

    def predict(
        self, systems: Sequence[SpinSystem], linewidth_hz: float = TASK_LINEWIDTH_HZ, batch_size: int = 256, check_range: bool = True
    ) -> dict[str, np.ndarray]:
        """{"t", "Mx", "My", "I1z"}: Mx, My broadened by exp(-pi * linewidth * t), each (B, T); I1z unbroadened.

        A ``lines`` model on the CPU is evaluated by its NumPy copy (:mod:`labkit.nmr_fno.line_infer`,
        the same function to float rounding, without torch's per-op overhead at small batches). Elsewhere
        (a GPU) each batch of same-N systems goes to the device once and is evaluated by
        ``LineNet.forward_static`` with I1z (:func:`pair_transfer_torch`) and the broadening on the device,
        replayed as a CUDA graph from the second call of a batch shape on (``cuda_graphs``); the results
        come back in one copy.
        """
        systems = list(systems)
        if not systems:
            raise ValueError("systems: need at least one SpinSystem")
        if not (np.isfinite(linewidth_hz) and linewidth_hz >= 0):
            raise ValueError(f"linewidth_hz: must be a finite number >= 0, got {linewidth_hz}")
        counts = np.fromiter((s.n_spins for s in systems), dtype=np.int64, count=len(systems))
        if counts.min() == counts.max():
            order = np.arange(len(systems))
            groups = [order]
        else:  # same-N groups, each in input order
            order = np.argsort(counts, kind="stable")
            groups = np.split(order, np.flatnonzero(np.diff(counts[order])) + 1)
        # np.array of a list of same-shape arrays: one copy, about 2x faster than np.stack at batch 256
        stacked = [(np.array([systems[i].offsets_hz for i in idx]), np.array([systems[i].couplings_hz for i in idx])) for idx in groups]
        engine = self._cpu_engine()
        if engine is None:
            was = self.model.training
            if was:  # Module.train/eval walk every submodule: only when the mode changes
                self.model.eval()
            try:
                queued = self._predict_torch(systems, groups, stacked, linewidth_hz, batch_size)
                if check_range:  # on a GPU this host work overlaps the queued kernels
                    self._warn_out_of_range(systems, groups, stacked)
                res = queued.cpu().numpy()
            finally:
                if was:
                    self.model.train()
            if groups[0] is order:  # one N group in input order: no reordering copy
                out = res
            else:
                out = np.empty_like(res)
                out[:, order] = res
            return {"t": self.times.copy(), "Mx": out[0], "My": out[1], "I1z": out[2]}
        if check_range:
            self._warn_out_of_range(systems, groups, stacked)
        nt = self.times.size
        mx, my, iz = (np.empty((len(systems), nt)) for _ in range(3))
        for idx, (nu_g, jm_g) in zip(groups, stacked, strict=True):
            for start in range(0, len(idx), batch_size):
                part = idx[start : start + batch_size]
                nu, jm = nu_g[start : start + batch_size], jm_g[start : start + batch_size]
                mx[part], my[part] = engine.fid(nu, jm, float(self.times[1]), nt)
                iz[part] = _pair_transfer(nu, jm, self.times)
        decay = self._decay_for(linewidth_hz)
        return {"t": self.times.copy(), "Mx": mx * decay, "My": my * decay, "I1z": iz}

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Kind, spec, architecture and weights (float32): everything :meth:`from_state_dict` needs."""
        arch = self.model.architecture()
        return {"format": 1, "kind": self.kind, "spec": asdict(self.spec), "architecture": arch,
                "model": {k: v.detach().float().cpu() for k, v in self.model.state_dict().items()}}

    @classmethod
    def from_state_dict(cls, state: dict) -> FIDSurrogate:
        """Rebuild a surrogate saved with :meth:`state_dict`."""
        spec_d = dict(state["spec"])
        spec_d["offset_range"], spec_d["j_range"] = tuple(spec_d["offset_range"]), tuple(spec_d["j_range"])
        spec = FIDSpec(**spec_d)
        if state["kind"] == "lines":
            from .line_model import LineNet, LineNetConfig

            model: Any = LineNet(LineNetConfig(**state["architecture"]))
        else:
            from .fno import FNO1d, FNOConfig

            model = FNO1d(FNOConfig(**state["architecture"]))
        model.load_state_dict(state["model"])
        return cls(state["kind"], model, spec)

    def save_artifact(self, ctx: Any, name: str = ARTIFACT_NAME) -> Path:
        """Store as run artifact ``name`` (weights as safetensors, kind/spec/architecture as JSON)."""
        st = self.state_dict()
        return ctx.save_artifact(name, st["model"], factory="fid-surrogate", kind="model",
                                 config={"kind": st["kind"], "spec": st["spec"], "architecture": st["architecture"]},
                                 description=f"FID surrogate ({self.kind}) for N in {self.spec.n_spins}, 1 s / 512-point task")

    def save(self, path: str | Path) -> None:
        """Write the surrogate atomically to ``path`` (a torch file of tensors and plain values)."""
        import torch

        from labkit.core import atomic_write_bytes

        buf = io.BytesIO()
        torch.save(self.state_dict(), buf)
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, source: Any) -> FIDSurrogate:
        """From a loaded run (``labkit.core.load_run``), a run folder, or a file written by :meth:`save`.

        A run gives its ``surrogate`` artifact (checksum verified by core); a file is read with
        ``weights_only`` (no code is unpickled).
        """
        import torch

        if hasattr(source, "artifact"):
            return source.artifact(ARTIFACT_NAME)
        path = Path(source)
        if path.is_dir():
            from labkit.core import load_run

            return load_run(path).artifact(ARTIFACT_NAME)
        return cls.from_state_dict(torch.load(path, map_location="cpu", weights_only=True))

    @classmethod
    def pretrained(cls) -> FIDSurrogate:
        """The surrogate shipped inside the package (trained by the command in the README)."""
        from importlib.resources import files

        res = files("labkit.nmr_fno").joinpath(PRETRAINED_FILE)
        if not res.is_file():
            raise FileNotFoundError(f"the package has no pretrained surrogate at labkit/nmr_fno/{PRETRAINED_FILE}")
        with res.open("rb") as fh:
            import torch

            return cls.from_state_dict(torch.load(io.BytesIO(fh.read()), map_location="cpu", weights_only=True))


def surrogate_from_artifact(config: dict, tensors: dict) -> FIDSurrogate:
    """The registered model factory (``nmr-fno:fid-surrogate``): rebuild from an artifact's config and tensors."""
    import torch

    return FIDSurrogate.from_state_dict({**config, "model": {k: torch.as_tensor(np.asarray(v)) for k, v in tensors.items()}})
