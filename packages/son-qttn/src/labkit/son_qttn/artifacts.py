"""What ``son-qttn:hybrid`` saves: the final SON state and its QTT, and the factories that rebuild them.

Both are arrays plus a JSON config (labkit's rebuild contract ``factory(config, tensors)``):
``son_state`` is the field V, the reinjected potential and the PRNG key with the network's
settings; ``qtt`` is the tensor train of V (its cores) with the image shape and the tolerance
it was cut at. Every computation runs in the precision the run used.

Example:
    >>> import numpy as np
    >>> v = np.random.default_rng(0).random((2, 8, 8))
    >>> field = QTTField.compress(v, tol=1e-12, max_rank=None, precision="float64")
    >>> rebuilt = qtt_field_factory(field.config, field.state_dict())
    >>> bool(np.abs(rebuilt.reconstruct() - v).max() < 1e-10)
    True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.son_qttn._precision import precision_scope
from labkit.son_qttn.config import HybridConfig, NetworkConfig
from labkit.son_qttn.tt import TT

if TYPE_CHECKING:
    from labkit.son_qttn.hybrid import HybridLoop

__all__ = ["QTTField", "SONState", "qtt_field_factory", "son_state_factory"]


@dataclass
class SONState:
    """The oscillator-network state: field ``v`` (B, H, W), ``potential``, PRNG ``key``, and its network.

    :meth:`energy` is the run's ``energy_final``; :meth:`simulate` continues the dynamics.
    """

    v: np.ndarray
    potential: np.ndarray
    key: np.ndarray
    network: NetworkConfig
    precision: str = "float64"
    cycles: int = 0

    @classmethod
    def from_loop(cls, loop: HybridLoop, cfg: HybridConfig) -> SONState:
        """The state a finished :class:`~labkit.son_qttn.hybrid.HybridLoop` ends in."""
        saved = loop.state_dict()
        return cls(saved["v"], saved["pot"], saved["key"], cfg.network, cfg.precision, len(loop.history))

    @property
    def config(self) -> dict[str, Any]:
        """The artifact's JSON config."""
        return {"network": dataclasses.asdict(self.network), "precision": self.precision, "cycles": self.cycles}

    def state_dict(self) -> dict[str, np.ndarray]:
        """The artifact's arrays."""
        return {"v": self.v, "potential": self.potential, "key": self.key}

    def energy(self) -> float:
        """Mean SON energy E(V) over the images (¼ Σ K_ij (V_i − V_j)² + ½ Σ ω² V_i²)."""
        import jax.numpy as jnp

        from labkit.son_qttn.hybrid import network_coupling
        from labkit.son_qttn.son import son_energy

        with precision_scope(self.precision):
            k = network_coupling(self.network, tuple(self.v.shape[-2:]))
            return float(jnp.mean(son_energy(jnp.asarray(self.v), k, self.network.omega)))

    def simulate(self, n_steps: int, seed: int = 0) -> np.ndarray:
        """``n_steps`` more SON steps from ``v``, pulled towards the saved potential; the new field."""
        import jax

        from labkit.son_qttn.hybrid import network_coupling, network_params
        from labkit.son_qttn.son import simulate_son

        with precision_scope(self.precision):
            k = network_coupling(self.network, tuple(self.v.shape[-2:]))
            v, _, _ = simulate_son(self.v, k, network_params(self.network), n_steps, key=jax.random.PRNGKey(seed),
                                   potential=self.potential)
            return np.asarray(v)


@dataclass
class QTTField:
    """A (B, H, W) field as a quantized tensor train: batch mode first, interleaved pixel digits."""

    tt: TT
    image_shape: tuple[int, int]
    precision: str = "float64"
    tolerance: float = math.nan
    max_rank: int | None = None

    @classmethod
    def compress(cls, v: np.ndarray, tol: float, max_rank: int | None, precision: str) -> QTTField:
        """TT-SVD of ``v`` in QTT modes at relative tolerance ``tol`` (ranks capped at ``max_rank``)."""
        from labkit.son_qttn.qtt import to_qtt_tensor
        from labkit.son_qttn.tt import tt_svd

        with precision_scope(precision):
            tt = tt_svd(to_qtt_tensor(v), tol=tol, max_rank=max_rank)
        return cls(TT(tuple(np.asarray(c) for c in tt.cores), tt.error_bound), (int(v.shape[-2]), int(v.shape[-1])),
                   precision, tol, max_rank)

    @property
    def config(self) -> dict[str, Any]:
        """The artifact's JSON config."""
        bound = self.tt.error_bound
        return {"image_shape": list(self.image_shape), "precision": self.precision, "n_cores": len(self.tt.cores),
                "error_bound": bound if math.isfinite(bound) else None, "svd_tolerance": self.tolerance,
                "rank_truncation": self.max_rank, "ranks": list(self.tt.ranks)}

    def state_dict(self) -> dict[str, np.ndarray]:
        """The cores, as ``core_000``, ``core_001``, ..."""
        return {f"core_{i:03d}": np.asarray(c) for i, c in enumerate(self.tt.cores)}

    def reconstruct(self) -> np.ndarray:
        """The full (B, H, W) field the train stands for."""
        from labkit.son_qttn.qtt import from_qtt_tensor

        with precision_scope(self.precision):
            return np.asarray(from_qtt_tensor(self.tt.full(), self.image_shape))


def son_state_factory(config: Mapping[str, Any], tensors: Mapping[str, Any]) -> SONState:
    """Rebuild the ``son_state`` artifact (labkit's ``factory(config, tensors)``)."""
    return SONState(np.asarray(tensors["v"]), np.asarray(tensors["potential"]), np.asarray(tensors["key"]),
                    NetworkConfig(**config["network"]), config["precision"], int(config["cycles"]))


def qtt_field_factory(config: Mapping[str, Any], tensors: Mapping[str, Any]) -> QTTField:
    """Rebuild the ``qtt`` artifact (labkit's ``factory(config, tensors)``)."""
    cores = tuple(np.asarray(tensors[f"core_{i:03d}"]) for i in range(int(config["n_cores"])))
    bound = config.get("error_bound")
    return QTTField(TT(cores, math.nan if bound is None else float(bound)), tuple(config["image_shape"]),
                    config["precision"], float(config["svd_tolerance"]), config.get("rank_truncation"))
