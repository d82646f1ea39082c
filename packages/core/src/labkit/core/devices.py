"""Choosing the compute device: ``auto`` picks CUDA when a framework sees one, else CPU."""

from __future__ import annotations

from labkit.core._errors import LabkitError

DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    """True when torch or JAX (whichever is installed) sees a CUDA GPU. Imports them lazily."""
    try:
        import torch

        if torch.cuda.is_available():
            return True
    except ImportError:
        pass
    try:
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # no jax, or no GPU backend: both mean no CUDA here
        return False


def resolve_device(device: str) -> str:
    """Map ``auto``/``cpu``/``cuda`` to ``cpu`` or ``cuda``; refuse ``cuda`` when none is present.

    Example:
        >>> resolve_device("cpu")
        'cpu'
    """
    if device not in DEVICES:
        raise LabkitError(f"--device must be one of {', '.join(DEVICES)}; got {device!r}")
    if device == "cpu":
        return "cpu"
    has_cuda = cuda_available()
    if device == "cuda" and not has_cuda:
        raise LabkitError("--device cuda was asked for, but neither torch nor JAX sees a CUDA GPU here; use --device cpu or auto")
    return "cuda" if has_cuda else "cpu"
