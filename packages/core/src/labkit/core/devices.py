"""Choosing the compute device: ``auto`` picks CUDA when a framework sees one, else CPU."""

from __future__ import annotations

import sys

from labkit.core._errors import LabkitError

DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    """True when a CUDA GPU is usable. Imports no framework.

    A loaded torch or JAX is asked; with neither loaded, the CUDA driver is asked directly
    (NVML through ctypes), so choosing a device never loads torch.
    """
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return True
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
