"""Quantized TT (QTT) reshaping and einsum contraction helpers for tensor trains.

A length-N vector becomes a d-way tensor whose modes are the prime factors (radices) of N,
most significant first, e.g. 1024 -> (2,)*10 and 28 -> (2, 2, 7). An H×W image is quantized
per axis and the row and column digits are interleaved (r1, c1, r2, c2, ...), so each TT
bond separates coarse scales from fine ones in both directions; leading batch axes stay as
their own modes. Contractions go through ``opt_einsum`` with optimised paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from labkit.son_qttn._errors import check_int_at_least
from labkit.son_qttn.tt import TT

if TYPE_CHECKING:
    import jax
    from jax.typing import ArrayLike


def radices(n: int) -> tuple[int, ...]:
    """Prime factors of ``n`` in ascending order (powers of 2 first): the QTT mode sizes.

    Example:
        >>> radices(1024) == (2,) * 10, radices(28)
        (True, (2, 2, 7))
    """
    check_int_at_least("n", n, 2)
    out, p, m = [], 2, n
    while p * p <= m:
        while m % p == 0:
            out.append(p)
            m //= p
        p += 1
    if m > 1:
        out.append(m)
    return tuple(out)


def _interleave_perm(nr: int, nc: int) -> list[int]:
    """Order (r1, c1, r2, c2, ...) of row digits 0..nr−1 and column digits nr..nr+nc−1."""
    perm: list[int] = []
    for k in range(max(nr, nc)):
        if k < nr:
            perm.append(k)
        if k < nc:
            perm.append(nr + k)
    return perm


def qtt_image_modes(height: int, width: int, rad: Sequence[int] | None = None) -> tuple[int, ...]:
    """QTT mode sizes of an H×W image (interleaved row/column radices).

    Example:
        >>> qtt_image_modes(8, 8)
        (2, 2, 2, 2, 2, 2)
    """
    rr = tuple(rad) if rad is not None else radices(height)
    rc = tuple(rad) if rad is not None else radices(width)
    if int(np.prod(rr)) != height or int(np.prod(rc)) != width:
        raise ValueError(f"rad: radices {rad} do not multiply to the image shape {(height, width)}")
    both = rr + rc
    return tuple(both[i] for i in _interleave_perm(len(rr), len(rc)))


def to_qtt_tensor(x: ArrayLike, n_image_axes: int = 2) -> jax.Array:
    """Reshape a vector (``n_image_axes=1``) or H×W images into QTT modes, keeping batch axes.

    Example:
        >>> import numpy as np
        >>> to_qtt_tensor(np.zeros((5, 8, 8))).shape
        (5, 2, 2, 2, 2, 2, 2)
    """
    import jax.numpy as jnp

    x = jnp.asarray(x)
    if n_image_axes not in (1, 2):
        raise ValueError(f"n_image_axes: must be 1 (vectors) or 2 (images), got {n_image_axes}")
    if x.ndim < n_image_axes:
        raise ValueError(f"x: needs at least {n_image_axes} axes, got shape {x.shape}")
    batch = x.shape[: x.ndim - n_image_axes]
    nb = len(batch)
    if n_image_axes == 1:
        return x.reshape(batch + radices(x.shape[-1]))
    rr, rc = radices(x.shape[-2]), radices(x.shape[-1])
    y = x.reshape(batch + rr + rc)
    perm = list(range(nb)) + [nb + i for i in _interleave_perm(len(rr), len(rc))]
    return jnp.transpose(y, perm)


def from_qtt_tensor(t: ArrayLike, image_shape: tuple[int, ...]) -> jax.Array:
    """Inverse of :func:`to_qtt_tensor` for the given trailing vector/image shape.

    Example:
        >>> import numpy as np
        >>> x = np.arange(2 * 4 * 6.0).reshape(2, 4, 6)
        >>> bool((np.asarray(from_qtt_tensor(to_qtt_tensor(x), (4, 6))) == x).all())
        True
    """
    import jax.numpy as jnp

    t = jnp.asarray(t)
    if len(image_shape) == 1:
        nq = len(radices(image_shape[0]))
        return t.reshape(t.shape[: t.ndim - nq] + tuple(image_shape))
    rr, rc = radices(image_shape[0]), radices(image_shape[1])
    nq = len(rr) + len(rc)
    nb = t.ndim - nq
    perm = _interleave_perm(len(rr), len(rc))
    inv = list(range(nb)) + [nb + perm.index(i) for i in range(nq)]
    return jnp.transpose(t, inv).reshape(t.shape[:nb] + tuple(image_shape))


def tt_einsum(subscripts: str, *operands: ArrayLike) -> jax.Array:
    """``jnp.einsum`` with an opt_einsum-optimised contraction path ('greedy' search).

    Example:
        >>> import numpy as np
        >>> float(tt_einsum("ij,jk,ki->", np.eye(3), np.eye(3), np.eye(3)))
        3.0
    """
    import jax.numpy as jnp
    import opt_einsum

    path, _ = opt_einsum.contract_path(subscripts, *operands, optimize="greedy")
    return jnp.einsum(subscripts, *operands, optimize=path)


def tt_inner(a: TT, b: TT) -> jax.Array:
    """<a, b> = Σ a[i] b[i] without forming either tensor (O(d n r³)).

    Example:
        >>> import numpy as np
        >>> from labkit.son_qttn.tt import tt_svd
        >>> t = tt_svd(np.ones((2, 2, 2)), tol=1e-6)
        >>> round(float(tt_inner(t, t)), 4)
        8.0
    """
    import jax.numpy as jnp

    if a.shape != b.shape:
        raise ValueError(f"b: shape {b.shape} differs from a's {a.shape}")
    env = jnp.ones((1, 1))
    for ca, cb in zip(a.cores, b.cores, strict=False):
        env = tt_einsum("ab,anc,bnd->cd", env, ca, cb)
    return env[0, 0]


def tt_norm(a: TT) -> jax.Array:
    """Frobenius norm of a TT via :func:`tt_inner`."""
    import jax.numpy as jnp

    return jnp.sqrt(jnp.maximum(tt_inner(a, a), 0.0))


def tt_entry(a: TT, index: Sequence[int]) -> ArrayLike:
    """One entry A[i_1, ..., i_d] as a product of core slices.

    Example:
        >>> import numpy as np
        >>> from labkit.son_qttn.tt import tt_svd
        >>> x = np.arange(8.0).reshape(2, 2, 2)
        >>> round(float(tt_entry(tt_svd(x, tol=1e-7), (1, 0, 1))), 3)
        5.0
    """
    if len(index) != len(a.cores):
        raise ValueError(f"index: need {len(a.cores)} indices, got {len(index)}")
    out = a.cores[0][:, index[0], :]
    for c, i in zip(a.cores[1:], index[1:], strict=False):
        out = out @ c[:, i, :]
    return out[0, 0]
