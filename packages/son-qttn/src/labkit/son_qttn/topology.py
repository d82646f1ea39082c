"""Coupling operators K of the oscillator network, as stencils (never dense N×N).

A :class:`Coupling` is a translation-invariant stencil on a 1-D ring or a 2-D lattice.
``matvec(x)`` computes (K x)_i = Σ_j K_ij x_j with ``jnp.roll`` (periodic) or zero padding
(free boundaries), and ``laplacian(x)`` the graph-Laplacian form Σ_j K_ij (x_j − x_i).
Both work on a trailing field shape with any leading batch axes and cost O(N · stencil).
``to_bcoo`` gives the same operator as a JAX sparse matrix; ``dense`` exists for tests
and the dense-baseline benchmark only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from labkit.son_qttn._errors import check_choice, check_int_at_least, check_positive

if TYPE_CHECKING:
    import jax
    from jax.experimental.sparse import BCOO
    from jax.typing import DTypeLike

TOPOLOGIES = ("ring", "torus", "toroidal_8k", "lattice4", "gaussian")


@dataclass(frozen=True)
class Coupling:
    """A stencil coupling on a ring or 2-D lattice.

    Attributes:
        shape: field shape, ``(n,)`` for a ring or ``(h, w)`` for a lattice.
        offsets: neighbour offsets, one tuple per stencil entry (same length as shape).
        weights: coupling K_ij for each offset.
        periodic: wrap around the edges (ring/torus) or free boundaries (image lattice).

    Example:
        >>> import jax.numpy as jnp
        >>> k = make_coupling("ring", (5,), strength=1.0)
        >>> k.laplacian(jnp.arange(5.0)).tolist()
        [5.0, 0.0, 0.0, 0.0, -5.0]
    """

    shape: tuple[int, ...]
    offsets: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...]
    periodic: bool

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(np.prod(self.shape))

    def _shift(self, x: jax.Array, off: tuple[int, ...]) -> jax.Array:
        """Return y with y[i] = x[i + off] (zero outside the lattice when not periodic)."""
        import jax.numpy as jnp

        nd = len(self.shape)
        axes = tuple(range(x.ndim - nd, x.ndim))
        if self.periodic:
            return jnp.roll(x, tuple(-o for o in off), axis=axes)
        pad = [(0, 0)] * (x.ndim - nd) + [(max(-o, 0), max(o, 0)) for o in off]
        xp = jnp.pad(x, pad)
        idx = [slice(None)] * (x.ndim - nd)
        for o, size in zip(off, self.shape, strict=False):
            start = max(-o, 0) + o
            idx.append(slice(start, start + size))
        return xp[tuple(idx)]

    def matvec(self, x: jax.Array) -> jax.Array:
        """(K x)_i = Σ_j K_ij x_j over the trailing field axes (zeros for a stencil with no entries: K = 0)."""
        import jax.numpy as jnp

        terms = [w * self._shift(x, off) for off, w in zip(self.offsets, self.weights, strict=True)]
        return sum(terms[1:], terms[0]) if terms else jnp.zeros_like(x)

    def degree(self) -> jax.Array:
        """Row sums d_i = Σ_j K_ij (smaller at free boundaries)."""
        import jax.numpy as jnp

        return self.matvec(jnp.ones(self.shape))

    def laplacian(self, x: jax.Array) -> jax.Array:
        """Σ_j K_ij (x_j − x_i): the diffusive coupling of the linear SON update."""
        return self.matvec(x) - self.degree().astype(x.dtype) * x

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """COO triplets (rows, cols, vals) of K over flattened node indices."""
        grid = np.indices(self.shape).reshape(len(self.shape), -1).T
        rows, cols, vals = [], [], []
        for off, w in zip(self.offsets, self.weights, strict=False):
            nb = grid + np.asarray(off)
            if self.periodic:
                nb = nb % np.asarray(self.shape)
                keep = np.ones(len(grid), bool)
            else:
                keep = np.all((nb >= 0) & (nb < np.asarray(self.shape)), axis=1)
            rows.append(np.ravel_multi_index(grid[keep].T, self.shape))
            cols.append(np.ravel_multi_index(nb[keep].T, self.shape))
            vals.append(np.full(int(keep.sum()), w))
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)

    def to_bcoo(self, dtype: DTypeLike | None = None) -> BCOO:
        """K as a ``jax.experimental.sparse.BCOO`` matrix (duplicates summed)."""
        import jax.numpy as jnp
        from jax.experimental import sparse

        r, c, v = self.edges()
        # duplicates (small periodic lattices) are summed on the host: BCOO.sum_duplicates would
        # jit-compile per shape, seconds each, for a one-off construction
        flat, inv = np.unique(r.astype(np.int64) * self.n + c, return_inverse=True)
        vals = np.zeros(len(flat))
        np.add.at(vals, inv.ravel(), v)
        idx = jnp.asarray(np.stack([flat // self.n, flat % self.n], axis=1))
        return sparse.BCOO((jnp.asarray(vals, dtype=dtype), idx), shape=(self.n, self.n),
                           indices_sorted=True, unique_indices=True)

    def dense(self) -> np.ndarray:
        """K as a dense N×N numpy array: for tests and the dense baseline only."""
        r, c, v = self.edges()
        k = np.zeros((self.n, self.n))
        np.add.at(k, (r, c), v)
        return k


def _gaussian_stencil(sigma: float) -> tuple[list[tuple[int, int]], list[float]]:
    """Offsets within 3σ and weights exp(−d²/2σ²), centre excluded, normalised to sum 1."""
    rad = max(1, math.ceil(3 * sigma))
    offs, ws = [], []
    for dy in range(-rad, rad + 1):
        for dx in range(-rad, rad + 1):
            if (dy, dx) != (0, 0) and dy * dy + dx * dx <= rad * rad:
                offs.append((dy, dx))
                ws.append(math.exp(-(dy * dy + dx * dx) / (2 * sigma * sigma)))
    total = sum(ws)
    return offs, [w / total for w in ws]


def make_coupling(
    topology: str,
    shape: tuple[int, ...] | None = None,
    *,
    strength: float = 1.0,
    sigma: float = 1.0,
) -> Coupling:
    """Build a named coupling topology.

    ``ring`` (1-D periodic, 2 neighbours), ``torus`` (2-D periodic, 4 neighbours),
    ``toroidal_8k`` (the 64×128 = 8192-node torus), ``lattice4`` (4-neighbour image
    lattice with free boundaries), ``gaussian`` (periodic Gaussian kernel of width
    ``sigma`` lattice units, weights summing to ``strength``).

    Example:
        >>> make_coupling("toroidal_8k").n
        8192
    """
    check_choice("topology", topology, TOPOLOGIES)
    check_positive("strength", strength, strict=False)
    if topology == "toroidal_8k":
        shape = (64, 128) if shape is None else tuple(shape)
        if int(np.prod(shape)) != 8192 or len(shape) != 2:
            raise ValueError(f"shape: toroidal_8k needs a 2-D shape with 8192 nodes, got {shape}")
    if shape is None:
        raise ValueError(f"shape: topology {topology!r} needs a field shape")
    shape = tuple(int(s) for s in shape)
    want = 1 if topology == "ring" else 2
    if len(shape) != want:
        raise ValueError(f"shape: topology {topology!r} needs a {want}-D shape, got {shape}")
    for s in shape:
        check_int_at_least("shape", s, 3 if topology != "lattice4" else 1)
    if topology == "ring":
        offs: Sequence[tuple[int, ...]] = [(1,), (-1,)]
        ws = [strength, strength]
    elif topology in ("torus", "toroidal_8k", "lattice4"):
        offs = [(1, 0), (-1, 0), (0, 1), (0, -1)]
        ws = [strength] * 4
    else:
        check_positive("sigma", sigma)
        offs, ws = _gaussian_stencil(sigma)
        ws = [strength * w for w in ws]
    return Coupling(shape, tuple(offs), tuple(ws), periodic=topology != "lattice4")
