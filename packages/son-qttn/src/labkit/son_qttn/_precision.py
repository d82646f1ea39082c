"""Floating-point precision for JAX runs, scoped instead of global.

JAX defaults to float32; float64 needs ``jax_enable_x64``. Flipping that flag at
``import labkit.son_qttn`` would silently change every other JAX user in the
process, so the flag is only switched inside :func:`precision_scope`, which every
experiment wraps its ``run`` in. Library functions follow whatever the caller set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from labkit.son_qttn._errors import check_choice

PRECISIONS = ("float32", "float64")


@contextlib.contextmanager
def precision_scope(precision: str) -> Iterator[object]:
    """Run a block with JAX in ``float32`` or ``float64``; yields the numpy dtype.

    Example:
        >>> with precision_scope("float64") as dt:
        ...     import jax.numpy as jnp
        ...     jnp.ones(2).dtype == dt
        True
    """
    check_choice("precision", precision, PRECISIONS)
    import jax
    import numpy as np

    with jax.enable_x64(precision == "float64"):
        yield np.dtype(precision)
