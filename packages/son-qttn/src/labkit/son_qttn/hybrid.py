"""The SON -> QTTN -> reinjection feedback loop on a stack of images.

Each cycle: ``update_frequency`` SON steps of the field V (pulled towards the potential P),
then one QTT compression of the whole stack (batch mode first, interleaved pixel digits) at
``svd_tolerance``/``rank_truncation``; the reconstruction becomes the new potential P.
The rank-revealing TT-SVD runs outside ``jit``; the SON steps are one jitted ``lax.scan``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.son_qttn.config import HybridConfig, NetworkConfig
from labkit.son_qttn.qtt import from_qtt_tensor, to_qtt_tensor
from labkit.son_qttn.son import SONParams, simulate_son, son_energy
from labkit.son_qttn.topology import Coupling, make_coupling
from labkit.son_qttn.tt import TT, tt_svd

if TYPE_CHECKING:
    import jax


def compress_field(v: jax.Array, tol: float, max_rank: int | None) -> tuple[TT, jax.Array]:
    """QTT-compress a (B, H, W) field; returns the train and its reconstruction (B, H, W)."""
    tt = tt_svd(to_qtt_tensor(v), tol=tol, max_rank=max_rank)
    return tt, from_qtt_tensor(tt.full(), tuple(v.shape[-2:]))


def network_coupling(net: NetworkConfig, image_shape: tuple[int, ...]) -> Coupling:
    """The coupling K of ``net`` on an image lattice of ``image_shape``."""
    return make_coupling(net.topology, image_shape, strength=net.oscillator_coupling, sigma=net.sigma)


def network_params(net: NetworkConfig) -> SONParams:
    """The SON step parameters of ``net`` (one step advances dt/tau)."""
    return SONParams(dt=net.dt / net.time_constant, omega=net.omega, temperature=net.temperature,
                     drive=net.feedback, update=net.update)


def svd_baseline(images: np.ndarray, n_params: int) -> tuple[int, float]:
    """Truncated SVD of the (B, H·W) image matrix with at most ``n_params`` numbers: (rank, MSE)."""
    x = images.reshape(len(images), -1)
    b, p = x.shape
    k = max(1, min(min(b, p), n_params // (b + p + 1)))
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    approx = (u[:, :k] * s[:k]) @ vt[:k]
    return k, float(np.mean((approx - x) ** 2))


class HybridLoop:
    """Holds the loop state (fields, potential, PRNG key, history) and runs one cycle at a time.

    Example:
        >>> import numpy as np
        >>> from labkit.son_qttn import precision_scope
        >>> with precision_scope("float64"):  # the default tolerance 1e-6 needs float64 to be certified
        ...     loop = HybridLoop(HybridConfig(n_images=4, n_cycles=1), np.random.default_rng(0).random((4, 8, 8)), seed=0)
        ...     keys = sorted(loop.cycle())[:3]
        >>> keys
        ['amplitude', 'bound_holds', 'compression_ratio']
    """

    def __init__(self, cfg: HybridConfig, images: np.ndarray, seed: int) -> None:
        import jax
        import jax.numpy as jnp

        self.cfg = cfg
        self.images = jnp.asarray(images)
        self.k = network_coupling(cfg.network, tuple(images.shape[-2:]))
        self.p = network_params(cfg.network)
        self.v = self.images
        self.potential = self.images
        self.key = jax.random.PRNGKey(seed)
        self.history: list[dict[str, Any]] = []
        self.last_tt: TT | None = None

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs, as numpy arrays and lists (``ctx.loop(track=...)`` saves it)."""
        return {"v": np.asarray(self.v), "pot": np.asarray(self.potential), "key": np.asarray(self.key), "history": list(self.history)}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        import jax.numpy as jnp

        self.v, self.potential = jnp.asarray(s["v"]), jnp.asarray(s["pot"])
        self.key = jnp.asarray(s["key"], dtype=jnp.uint32)
        self.history[:] = s["history"]

    def cycle(self) -> dict[str, Any]:
        """SON steps, compression, reinjection; returns this cycle's metrics."""
        import jax
        import jax.numpy as jnp

        q = self.cfg.qttn
        self.key, sub = jax.random.split(self.key)
        self.v, _, amp = simulate_son(self.v, self.k, self.p, q.update_frequency, key=sub, potential=self.potential)
        tt, recon = compress_field(self.v, q.svd_tolerance, q.rank_truncation)
        err = float(jnp.linalg.norm((recon - self.v).ravel()))
        self.potential = recon
        self.last_tt = tt
        rec = {
            "cycle": len(self.history),
            "compression_ratio": tt.compression_ratio,
            "max_rank": max(tt.ranks),
            "recon_mse": float(jnp.mean((recon - self.v) ** 2)),
            "error_bound": tt.error_bound,
            "bound_holds": bool(err <= tt.error_bound * (1 + 1e-6) + 1e-5 * float(jnp.linalg.norm(self.v.ravel()))),
            "energy": float(jnp.mean(son_energy(self.v, self.k, self.p.omega))),
            "amplitude": float(amp),
            "drift_from_images_mse": float(jnp.mean((self.v - self.images) ** 2)),
        }
        if not math.isfinite(rec["energy"]):
            raise FloatingPointError("the SON field diverged: lower network.dt or the coupling")
        self.history.append(rec)
        return rec
