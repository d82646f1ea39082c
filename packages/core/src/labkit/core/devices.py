"""Choosing the compute device: ``auto`` picks CUDA when a framework sees one, else CPU."""

from __future__ import annotations

import sys

from labkit.core._errors import LabkitError

DEVICES = ("auto", "cpu", "cuda")
FRAMEWORKS = ("torch", "jax")


def cuda_available(framework: str | None = None) -> bool:
    """True when a CUDA GPU is usable (by ``framework``, when given). Imports no framework but JAX for JAX.

    A loaded torch or JAX is asked; with neither loaded, the CUDA driver is asked directly
    (NVML through ctypes), so choosing a device never loads torch. ``framework="jax"`` asks JAX
    alone (importing it): a JAX run needs JAX's CUDA build, whatever torch or the driver see.
    """
    if framework not in (None, *FRAMEWORKS):
        raise ValueError(f"framework must be one of {FRAMEWORKS} or None, got {framework!r}")
    if framework == "jax":
        return _jax_sees_gpu()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return True
    if framework == "torch":
        return torch is None and _driver_device_count() > 0
    jax = sys.modules.get("jax")
    if jax is not None:
        try:
            if any(d.platform == "gpu" for d in jax.devices()):
                return True
        except RuntimeError:  # no backend initialised here: fall through to the driver
            pass
    if torch is not None or jax is not None:
        return False
    return _driver_device_count() > 0


def _jax_sees_gpu() -> bool:
    try:
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # no jax, or no GPU backend: both mean no CUDA for JAX
        return False


def _driver_device_count() -> int:
    # NVML, not cuInit: it does not initialise CUDA in this process, so forked workers stay usable
    import ctypes
    import os

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return 0
    count = ctypes.c_uint(0)
    if nvml.nvmlInit_v2() != 0:
        return 0
    try:
        return count.value if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 else 0
    finally:
        nvml.nvmlShutdown()


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
