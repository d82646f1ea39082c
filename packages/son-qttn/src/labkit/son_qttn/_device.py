"""The JAX device a run computes on: ``--device`` resolved through JAX's own devices, never torch's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from labkit.core import LabkitError


@contextlib.contextmanager
def device_scope(device: str) -> Iterator[Any]:
    """Run a block with JAX's default device on ``"cpu"`` or ``"cuda"``; yields that JAX device.

    Example:
        >>> with device_scope("cpu") as dev:
        ...     import jax.numpy as jnp
        ...     jnp.ones(2).devices() == {dev}
        True
    """
    import jax

    if device not in ("cpu", "cuda"):
        raise LabkitError(f"device: must be cpu or cuda, got {device!r}")
    try:
        target = jax.devices("gpu" if device == "cuda" else "cpu")[0]
    except RuntimeError:
        raise LabkitError("--device cuda: JAX sees no CUDA GPU here; install JAX's CUDA build "
                          "(pip install 'labkit-son-qttn[cuda12]' or '[cuda13]') or use --device cpu") from None
    with jax.default_device(target):
        yield target
