"""Stochastic oscillator network (SON) updates, run with ``jit`` + ``lax.scan``.

Linear update (gradient flow of :func:`son_energy`, plus optional thermal noise and a
potential drive towards a field P):

    V <- V + dt (Σ_j K_ij (V_j − V_i) − ω_i² V_i + γ (P_i − V_i)) + sqrt(2 T dt) ξ

Nonlinear image variant:  V <- V + dt (−ω V + K tanh(V)) (+ the same drive and noise).
K is a :class:`~labkit.son_qttn.topology.Coupling` stencil, so one step is O(N · stencil).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from labkit.son_qttn._errors import check_choice, check_int_at_least, check_positive
from labkit.son_qttn.topology import Coupling

if TYPE_CHECKING:
    import jax
    from jax.typing import ArrayLike

    # the scan's carry: field V, potential P, omega (scalar or field), summed step amplitude
    _Carry: TypeAlias = tuple[jax.Array, jax.Array, jax.Array, jax.Array]
    # what one compiled run returns: final field, recorded fields, mean step amplitude
    _Run: TypeAlias = tuple[jax.Array, jax.Array, jax.Array]

UPDATES = ("linear", "tanh")


@dataclass(frozen=True)
class SONParams:
    """Parameters of one SON run (omega may be a scalar or a field of per-node values).

    Example:
        >>> SONParams(dt=0.05, omega=0.5).update
        'linear'
    """

    dt: float = 0.05
    omega: float = 1.0
    temperature: float = 0.0
    drive: float = 0.0
    update: str = "linear"

    def __post_init__(self) -> None:
        check_positive("dt", self.dt)
        check_positive("temperature", self.temperature, strict=False)
        check_positive("drive", self.drive, strict=False)
        check_choice("update", self.update, UPDATES)


def son_drift(
    v: jax.Array, k: Coupling, p: SONParams, potential: jax.Array | None = None, omega: float | jax.Array | None = None
) -> jax.Array:
    """Deterministic right-hand side; ``omega`` (scalar or per-node field) overrides ``p.omega``."""
    import jax.numpy as jnp

    omega = p.omega if omega is None else omega

    f = k.laplacian(v) - jnp.square(omega) * v if p.update == "linear" else -omega * v + k.matvec(jnp.tanh(v))
    if potential is not None and p.drive > 0:
        f = f + p.drive * (potential - v)
    return f


def son_step(
    v: jax.Array, key: jax.Array, k: Coupling, p: SONParams, potential: jax.Array | None = None,
    omega: float | jax.Array | None = None,
) -> jax.Array:
    """One Euler–Maruyama step; ``key`` is only used when ``temperature > 0``."""
    import jax
    import jax.numpy as jnp

    v_new = v + p.dt * son_drift(v, k, p, potential, omega)
    if p.temperature > 0:
        v_new = v_new + jnp.sqrt(2 * p.temperature * p.dt) * jax.random.normal(key, v.shape, v.dtype)
    return v_new


@functools.lru_cache(maxsize=64)
def _compiled(k: Coupling, p: SONParams, n_steps: int, record_every: int, with_potential: bool) -> Callable[..., _Run]:
    import jax
    import jax.numpy as jnp

    n_rec = n_steps // record_every

    def body_inner(carry: _Carry, key: jax.Array) -> tuple[_Carry, None]:
        v, pot, om, amp = carry
        v_new = son_step(v, key, k, p, pot if with_potential else None, om)
        amp = amp + jnp.mean(jnp.square(v_new - v))
        return (v_new, pot, om, amp), None

    def body_outer(carry: _Carry, keys: jax.Array) -> tuple[_Carry, jax.Array]:
        carry, _ = jax.lax.scan(body_inner, carry, keys)
        return carry, carry[0]

    def run(v0: jax.Array, key: jax.Array, pot: jax.Array, om: jax.Array) -> _Run:
        keys = jax.random.split(key, n_rec * record_every)
        keys = keys.reshape((n_rec, record_every, *keys.shape[1:]))
        amp0 = jnp.zeros((), v0.dtype)
        (v, _, _, amp), traj = jax.lax.scan(body_outer, (v0, pot, om, amp0), keys)
        return v, traj, amp / max(n_rec * record_every, 1)

    return jax.jit(run)


def simulate_son(
    v0: ArrayLike, k: Coupling, p: SONParams, n_steps: int, *, key: jax.Array | None = None,
    potential: ArrayLike | None = None, omega: ArrayLike | None = None, record_every: int = 0,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Run ``n_steps`` SON steps; returns (final field, recorded fields, mean amplitude).

    The recorded fields have shape ``(n_steps // record_every, *v0.shape)`` (empty axis when
    ``record_every`` is 0); ``omega`` may be a per-node field; the amplitude is the mean of <|V_{t+1} − V_t|²> over steps.

    Example:
        >>> import jax.numpy as jnp
        >>> from labkit.son_qttn.topology import make_coupling
        >>> k = make_coupling("ring", (8,))
        >>> v, traj, amp = simulate_son(jnp.ones(8), k, SONParams(dt=0.1), 10, record_every=5)
        >>> traj.shape
        (2, 8)
    """
    import jax
    import jax.numpy as jnp

    check_int_at_least("n_steps", n_steps, 1)
    check_int_at_least("record_every", record_every, 0)
    v0 = jnp.asarray(v0)
    if tuple(v0.shape[v0.ndim - len(k.shape):]) != k.shape:
        raise ValueError(f"v0: trailing shape must be the coupling shape {k.shape}, got {v0.shape}")
    rec = record_every if record_every > 0 else n_steps
    if n_steps % rec:
        raise ValueError(f"record_every: must divide n_steps={n_steps}, got {record_every}")
    key = jax.random.PRNGKey(0) if key is None else key
    pot = jnp.zeros_like(v0) if potential is None else jnp.asarray(potential, v0.dtype)
    om = jnp.asarray(p.omega if omega is None else omega, v0.dtype)
    v, traj, amp = _compiled(k, p, n_steps, rec, potential is not None)(v0, key, pot, om)
    if record_every == 0:
        traj = traj[:0]
    return v, traj, amp


def son_energy(v: jax.Array, k: Coupling, omega: ArrayLike = 1.0) -> jax.Array:
    """E(V) = ¼ Σ_ij K_ij (V_i − V_j)² + ½ Σ_i ω_i² V_i², per leading batch entry.

    The linear update is gradient descent on E, so without noise E never increases for a
    small enough dt.

    Example:
        >>> import jax.numpy as jnp
        >>> from labkit.son_qttn.topology import make_coupling
        >>> float(son_energy(jnp.ones(4), make_coupling("ring", (4,)), 0.0))
        0.0
    """
    import jax.numpy as jnp

    axes = tuple(range(v.ndim - len(k.shape), v.ndim))
    e = -0.5 * v * k.laplacian(v) + 0.5 * jnp.square(omega) * jnp.square(v)
    return jnp.sum(e, axis=axes)
