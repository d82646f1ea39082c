"""A vectorised bank of stochastic series-RLC oscillators (Euler–Maruyama).

Each oscillator i has charge q_i and current I_i with

    dq = I dt
    L dI = (−R I − q/C + c (K q)_lap) dt + sqrt(2 R k_B T) dW      (Johnson–Nyquist noise)

integrated with the semi-implicit (symplectic) Euler–Maruyama scheme: the current is updated
first and the charge uses the new current. Plain explicit Euler multiplies an undamped
oscillator's energy by (1 + ω²dt²) per step; the semi-implicit form keeps the decay rate
right to O(dt). Without noise and coupling the energy envelope decays as exp(−R t / L); with
noise the bank equilibrates to equipartition, <q²>/2C = <L I²>/2 = k_B T / 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from labkit.son_qttn._errors import check_int_at_least, check_positive
from labkit.son_qttn.topology import Coupling

if TYPE_CHECKING:
    import jax
    import numpy as np
    import numpy.typing as npt
    from jax.typing import ArrayLike

    # the scan's carry: q, I, then the constants R, L, C, k_B T, dt (broadcast to q's shape or scalars)
    _Carry: TypeAlias = tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]


@dataclass(frozen=True)
class RLCBank:
    """Per-oscillator R, L, C (arrays or scalars), temperature k_B T, optional coupling.

    Example:
        >>> import numpy as np
        >>> bank = RLCBank(R=np.full(3, 0.1), L=np.ones(3), C=np.ones(3))
        >>> round(float(bank.omega0()[0]), 3)
        1.0
    """

    R: npt.ArrayLike
    L: npt.ArrayLike
    C: npt.ArrayLike
    kT: float = 0.0
    coupling: Coupling | None = None
    coupling_strength: float = 0.0

    def omega0(self) -> np.ndarray:
        """Undamped angular frequency 1/sqrt(L C) per oscillator."""
        import numpy as np

        return 1.0 / np.sqrt(np.asarray(self.L) * np.asarray(self.C))

    def energy(self, q: ArrayLike, i: ArrayLike) -> jax.Array:
        """Stored energy ½ L I² + q²/(2C) per oscillator (coupling energy excluded)."""
        import jax.numpy as jnp

        return 0.5 * jnp.asarray(self.L) * i**2 + 0.5 * q**2 / jnp.asarray(self.C)


def _check(bank: RLCBank) -> None:
    import numpy as np

    for name in ("R", "L", "C"):
        val = np.asarray(getattr(bank, name), dtype=float)
        if not np.all(np.isfinite(val)):
            raise ValueError(f"{name}: must be finite")
        if name == "R" and np.any(val < 0):
            raise ValueError("R: must be >= 0")
        if name != "R" and np.any(val <= 0):
            raise ValueError(f"{name}: must be > 0")
    check_positive("kT", bank.kT, strict=False)


@functools.lru_cache(maxsize=32)
def _runner(
    coupling: Coupling | None, strength: float, noisy: bool, n_steps: int, every: int
) -> Callable[..., tuple[jax.Array, jax.Array]]:
    import jax
    import jax.numpy as jnp

    def step(carry: _Carry, key: jax.Array) -> tuple[_Carry, None]:
        q, i, r, ell, c, kt, dt = carry
        force = -r * i - q / c
        if coupling is not None:
            force = force + strength * coupling.laplacian(q)
        i_new = i + dt * force / ell
        if noisy:
            i_new = i_new + jnp.sqrt(2 * r * kt * dt) / ell * jax.random.normal(key, q.shape, q.dtype)
        q_new = q + dt * i_new
        return (q_new, i_new, r, ell, c, kt, dt), None

    def outer(carry: _Carry, keys: jax.Array) -> tuple[_Carry, tuple[jax.Array, jax.Array]]:
        carry, _ = jax.lax.scan(step, carry, keys)
        return carry, (carry[0], carry[1])

    def run(
        q0: jax.Array, i0: jax.Array, r: jax.Array, ell: jax.Array, c: jax.Array, kt: jax.Array, dt: jax.Array,
        key: jax.Array,
    ) -> tuple[jax.Array, jax.Array]:
        keys = jax.random.split(key, n_steps)
        keys = keys.reshape((n_steps // every, every, *keys.shape[1:]))
        _carry, (qs, is_) = jax.lax.scan(outer, (q0, i0, r, ell, c, kt, dt), keys)
        return qs, is_

    return jax.jit(run)


def simulate_rlc(
    bank: RLCBank, q0: ArrayLike, i0: ArrayLike, dt: float, n_steps: int, *, record_every: int = 1,
    key: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Integrate the bank; returns (q, I) recorded every ``record_every`` steps.

    Output shapes are ``(n_steps // record_every, *q0.shape)``; row k holds the state after
    (k+1)·record_every steps.

    Example:
        >>> import numpy as np
        >>> bank = RLCBank(R=0.1, L=1.0, C=1.0)
        >>> q, i = simulate_rlc(bank, np.ones(4), np.zeros(4), 0.01, 100, record_every=10)
        >>> q.shape
        (10, 4)
    """
    import jax
    import jax.numpy as jnp

    _check(bank)
    check_positive("dt", dt)
    check_int_at_least("n_steps", n_steps, 1)
    check_int_at_least("record_every", record_every, 1)
    if n_steps % record_every:
        raise ValueError(f"record_every: must divide n_steps={n_steps}, got {record_every}")
    q0 = jnp.asarray(q0)
    dtype = q0.dtype if jnp.issubdtype(q0.dtype, jnp.floating) else jnp.result_type(float)
    q0 = q0.astype(dtype)
    i0 = jnp.asarray(i0, dtype)
    if q0.shape != i0.shape:
        raise ValueError(f"i0: shape {i0.shape} must equal q0's {q0.shape}")
    args = [jnp.broadcast_to(jnp.asarray(getattr(bank, n), dtype), q0.shape) for n in ("R", "L", "C")]
    run = _runner(bank.coupling, float(bank.coupling_strength), bank.kT > 0, n_steps, record_every)
    key = jax.random.PRNGKey(0) if key is None else key
    return run(q0, i0, *args, jnp.asarray(bank.kT, dtype), jnp.asarray(dt, dtype), key)
