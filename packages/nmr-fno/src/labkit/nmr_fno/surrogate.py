"""The trained surrogate: fixed-size parameter encoding, time window, trained range, prediction and OOD checks.

Encoding across N: a system with N <= n_max spins becomes [ν/ν_scale padded to n_max,
upper-triangular J/J_scale of the n_max x n_max padded matrix, spin mask (1 for real spins)].
Systems of different N thus share one model (multi-fidelity training); N > n_max is rejected.

Window: the default grid is 300 points on [0, 0.1 s) (dt = 1/3000 s). Lines of a chain or ring
with offsets in ±100 Hz and J <= 20 Hz sit below ~130 Hz, i.e. below rfft mode 13 of this window,
well inside the 24 kept modes, and 1,500 Hz Nyquist leaves no aliasing; the longer 0.15 s or
75 ms-at-4 kHz windows would either push lines to mode ~20 or waste modes. The projection of
held-out chains onto the kept modes misses ~0.028 RMSE (units of Mx(0)), nearly all from the
window's non-periodicity (an undamped FID does not return to its start, and the periodic DFT sees
a jump); the pointwise paths of the network are not band-limited, so this is not a floor for the
model, but it is why a longer window would not help. This 0.1 s surrogate serves the older
studies (topology, ood-j, calibration, scaling, conservation, inverse); the flagship trains the
FID surrogate of the fixed 1 s task (:mod:`labkit.nmr_fno.fid_surrogate`).

Example:
    >>> from labkit.nmr_fno.systems import random_system
    >>> encode_systems([random_system(3, seed=0)], n_max=4).shape
    (1, 14)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from labkit.nmr_fno.systems import SpinSystem

__all__ = [
    "DEFAULT_T_MAX",
    "OutOfRangeWarning",
    "Surrogate",
    "SurrogateSpec",
    "encode_systems",
    "surrogate_times",
]

DEFAULT_T_MAX = 0.1  # seconds; see the module docstring for why


def out_of_range_reasons(system: SpinSystem, n_spins: Sequence[int], offset_range: tuple[float, float],
                         j_range: tuple[float, float]) -> list[str]:
    """Why ``system`` lies outside a surrogate's trained spin counts, offsets and |J| (empty when inside)."""
    reasons = []
    if system.n_spins not in n_spins:
        reasons.append(f"n_spins={system.n_spins} not in trained {n_spins}")
    lo, hi = offset_range
    if system.offsets_hz.min() < lo - 1e-9 or system.offsets_hz.max() > hi + 1e-9:
        reasons.append(f"offsets span [{system.offsets_hz.min():.1f}, {system.offsets_hz.max():.1f}] Hz, trained {lo}..{hi}")
    j = np.abs(system.couplings_hz[np.triu_indices(system.n_spins, 1)])
    j = j[j > 0]
    lo, hi = j_range
    if j.size and (j.min() < lo - 1e-9 or j.max() > hi + 1e-9):
        reasons.append(f"|J| span [{j.min():.1f}, {j.max():.1f}] Hz, trained {lo}..{hi}")
    return reasons


class OutOfRangeWarning(UserWarning):
    """A system lies outside the parameter range the surrogate was trained on."""


def surrogate_times(n_t: int = 300, t_max: float = DEFAULT_T_MAX) -> np.ndarray:
    """Uniform grid t_k = k t_max / n_t, k = 0..n_t-1 (periodic window, as the DFT assumes).

    >>> surrogate_times(4, 1.0).tolist()
    [0.0, 0.25, 0.5, 0.75]
    """
    if n_t < 2 or not t_max > 0:
        raise ValueError(f"n_t must be >= 2 and t_max > 0, got n_t={n_t}, t_max={t_max}")
    return np.arange(n_t) * (t_max / n_t)


def encode_systems(
    systems: Sequence[SpinSystem], n_max: int, offset_scale: float = 100.0, j_scale: float = 20.0
) -> np.ndarray:
    """Fixed-size float32 encoding (offsets, J upper triangle, mask) of systems with N <= n_max.

    >>> from labkit.nmr_fno.systems import SpinSystem
    >>> encode_systems([SpinSystem([100.0, -50.0], [[0, 10.0], [10.0, 0]])], n_max=3).tolist()
    [[1.0, -0.5, 0.0, 0.5, 0.0, 0.0, 1.0, 1.0, 0.0]]
    """
    iu = np.triu_indices(n_max, k=1)
    out = np.zeros((len(systems), 2 * n_max + iu[0].size), dtype=np.float32)
    for b, s in enumerate(systems):
        n = s.n_spins
        if n > n_max:
            raise ValueError(
                f"systems[{b}]: has n_spins={n} but the surrogate encodes at most n_max={n_max} spins; "
                "train a model with a larger n_max"
            )
        nu = np.zeros(n_max)
        nu[:n] = s.offsets_hz
        j = np.zeros((n_max, n_max))
        j[:n, :n] = s.couplings_hz
        out[b, :n_max] = nu / offset_scale
        out[b, n_max : n_max + iu[0].size] = j[iu] / j_scale
        out[b, n_max + iu[0].size : n_max + iu[0].size + n] = 1.0
    return out


@dataclass
class SurrogateSpec:
    """What a surrogate was trained for: encoding scales, time window and the trained parameter range."""

    n_max: int = 8
    n_t: int = 300
    t_max: float = DEFAULT_T_MAX
    offset_scale: float = 100.0
    j_scale: float = 20.0
    n_spins: list[int] = field(default_factory=lambda: [3, 4, 5])
    offset_range: tuple[float, float] = (-100.0, 100.0)
    j_range: tuple[float, float] = (5.0, 20.0)
    topologies: list[str] = field(default_factory=lambda: ["chain"])

    def times(self) -> np.ndarray:
        """The time grid the surrogate predicts on."""
        return surrogate_times(self.n_t, self.t_max)

    def as_dict(self) -> dict:
        """JSON-able dict (stored in checkpoints)."""
        return asdict(self)

    def out_of_range(self, system: SpinSystem) -> list[str]:
        """Reasons why ``system`` lies outside the trained range (empty when inside)."""
        return out_of_range_reasons(system, self.n_spins, self.offset_range, self.j_range)


class Surrogate:
    """An :class:`~labkit.nmr_fno.fno.FNO1d` with its :class:`SurrogateSpec`: systems in, trajectories out.

    Example:
        >>> from labkit.nmr_fno.fno import FNOConfig
        >>> from labkit.nmr_fno.systems import random_system
        >>> sur = Surrogate.build(SurrogateSpec(n_max=4), FNOConfig(width=8, n_layers=2))
        >>> sur.predict([random_system(3, seed=1)]).shape
        (1, 3, 300)
    """

    def __init__(self, model, spec: SurrogateSpec) -> None:
        mc = model.config
        if (mc.n_max, mc.n_t, mc.t_max, mc.offset_scale, mc.j_scale) != (spec.n_max, spec.n_t, spec.t_max, spec.offset_scale, spec.j_scale):
            raise ValueError(
                f"spec: model has n_max={mc.n_max}, n_t={mc.n_t}, t_max={mc.t_max}, offset_scale={mc.offset_scale} "
                f"but spec says n_max={spec.n_max}, n_t={spec.n_t}, t_max={spec.t_max}, offset_scale={spec.offset_scale}"
            )
        self.model, self.spec = model, spec

    @classmethod
    def build(cls, spec: SurrogateSpec, config=None) -> Surrogate:
        """A freshly initialised surrogate (config's n_max/n_t are taken from the spec)."""
        from labkit.nmr_fno.fno import FNO1d, FNOConfig

        cfg = config or FNOConfig()
        cfg.n_max, cfg.n_t, cfg.t_max = spec.n_max, spec.n_t, spec.t_max
        cfg.offset_scale, cfg.j_scale = spec.offset_scale, spec.j_scale
        return cls(FNO1d(cfg), spec)

    def encode(self, systems: Sequence[SpinSystem]):
        """The model's input tensor for ``systems`` (on the model's device)."""
        import torch

        x = encode_systems(systems, self.spec.n_max, self.spec.offset_scale, self.spec.j_scale)
        return torch.from_numpy(x).to(next(self.model.parameters()).device)

    def warn_if_out_of_range(self, systems: Sequence[SpinSystem], uncertainty: np.ndarray | None = None) -> list[int]:
        """Warn (OutOfRangeWarning) about systems outside the trained range; returns their indices."""
        bad = [(i, r) for i, s in enumerate(systems) if (r := self.spec.out_of_range(s))]
        for i, reasons in bad:
            extra = "" if uncertainty is None else f"; MC-dropout std (mean over t, channels) = {float(np.mean(uncertainty[i])):.4f}"
            warnings.warn(f"system {i} is outside the trained range: {'; '.join(reasons)}{extra}", OutOfRangeWarning, stacklevel=3)
        return [i for i, _ in bad]

    def predict(self, systems: Sequence[SpinSystem], batch_size: int = 256, check_range: bool = True) -> np.ndarray:
        """Deterministic (dropout off) predictions, shape (len(systems), 3, n_t), channels Mx, My, I1z."""
        import torch

        if check_range:
            self.warn_if_out_of_range(systems)
        was_training = self.model.training
        self.model.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(systems), batch_size):
                outs.append(self.model(self.encode(systems[start : start + batch_size])).cpu().numpy())
        self.model.train(was_training)
        return np.concatenate(outs).astype(np.float64)

    def state_dict(self) -> dict:
        """Weights + architecture + spec: everything :meth:`from_state_dict` needs."""
        return {"model": self.model.state_dict(), "architecture": self.model.architecture(), "spec": self.spec.as_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Load weights saved by :meth:`state_dict` into this surrogate."""
        self.model.load_state_dict(state["model"])

    @staticmethod
    def pretrained():  # -> FIDSurrogate (kept untyped here: fid_surrogate imports this module)
        """The surrogate shipped in the wheel, for the fixed 1 s / 512-point task (see README, "FID surrogate").

        Returns a :class:`labkit.nmr_fno.fid_surrogate.FIDSurrogate`: ``spec.n_spins``, ``spec.offset_range``,
        ``spec.j_range``, ``times`` and ``predict(systems, linewidth_hz=1.0)`` -> {"t", "Mx", "My", "I1z"}.
        """
        from labkit.nmr_fno.fid_surrogate import FIDSurrogate

        return FIDSurrogate.pretrained()

    @staticmethod
    def load(source):  # -> FIDSurrogate
        """The FID surrogate of a loaded run (``labkit.core.load_run``), a run folder, or a file saved by FIDSurrogate.

        Runs of ``nmr-fno:surrogate`` and ``nmr-fno:studies`` store it as artifact ``surrogate``
        (see :meth:`labkit.nmr_fno.fid_surrogate.FIDSurrogate.load`).
        """
        from labkit.nmr_fno.fid_surrogate import FIDSurrogate

        return FIDSurrogate.load(source)

    @classmethod
    def from_state_dict(cls, state: dict) -> Surrogate:
        """Rebuild a surrogate saved with :meth:`state_dict`."""
        from labkit.nmr_fno.fno import FNO1d, FNOConfig

        spec_d = dict(state["spec"])
        spec_d["offset_range"] = tuple(spec_d["offset_range"])
        spec_d["j_range"] = tuple(spec_d["j_range"])
        sur = cls(FNO1d(FNOConfig(**state["architecture"])), SurrogateSpec(**spec_d))
        sur.load_state_dict(state)
        return sur
