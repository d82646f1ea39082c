"""Choosing the compute device: ``auto`` picks CUDA when a framework sees one, else CPU."""

from __future__ import annotations

from labkit.core._errors import LabkitError

DEVICES = ("auto", "cpu", "cuda")
FRAMEWORKS = ("torch", "jax")


def _torch_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _jax_cuda() -> bool:
    try:
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # no jax, or no GPU backend: both mean no CUDA here
        return False


def cuda_available(framework: str | None = None) -> bool:
    """True when ``framework`` (torch or JAX; None: either installed one) sees a CUDA GPU. Imports lazily."""
    if framework not in (None, *FRAMEWORKS):
        raise ValueError(f"framework must be one of {FRAMEWORKS} or None, got {framework!r}")
    if framework == "torch":
        return _torch_cuda()
    if framework == "jax":
        return _jax_cuda()
    return _torch_cuda() or _jax_cuda()


def resolve_device(device: str, framework: str | None = None) -> str:
    """Map ``auto``/``cpu``/``cuda`` to ``cpu`` or ``cuda``; refuse ``cuda`` when none is present.

    ``framework="jax"`` asks JAX alone (a JAX run must not pick CUDA because torch sees a GPU).

    Example:
        >>> resolve_device("cpu")
        'cpu'
    """
    if device not in DEVICES:
        raise LabkitError(f"--device must be one of {', '.join(DEVICES)}; got {device!r}")
    if device == "cpu":
        return "cpu"
    has_cuda = cuda_available(framework)
    if device == "cuda" and not has_cuda:
        who = {"torch": "torch sees", "jax": "JAX sees"}.get(framework or "", "neither torch nor JAX sees")
        hint = " (JAX needs its CUDA build: pip install 'jax[cuda12]' or 'jax[cuda13]')" if framework == "jax" else ""
        raise LabkitError(f"--device cuda was asked for, but {who} no CUDA GPU here{hint}; use --device cpu or auto")
    return "cuda" if has_cuda else "cpu"
