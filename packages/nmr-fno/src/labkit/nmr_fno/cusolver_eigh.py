"""One batched symmetric eigendecomposition on CUDA for a whole stack of matrices (cuSOLVER XsyevBatched).

``torch.linalg.eigh`` on a CUDA batch of matrices larger than 32 x 32 runs one ``syevd`` per matrix;
cuSOLVER's ``cusolverDnXsyevBatched`` (cuSOLVER 11.7, CUDA 12.6 and later) diagonalises the whole
contiguous stack in one call. This module binds it through ctypes to the cuSOLVER library that torch
itself loaded (found in the process's memory map), on torch's current stream. Where the library has
no such routine, :func:`batched_eigh_available` says why and :func:`batched_eigh` raises
``RuntimeError`` naming it.

Example (needs CUDA; elsewhere the availability check gives the reason):
    >>> ok, why = batched_eigh_available()
    >>> isinstance(ok, bool) and isinstance(why, str)
    True
"""

from __future__ import annotations

import ctypes
from typing import Any

import torch

__all__ = ["batched_eigh", "batched_eigh_available"]

_CUDA_R_64F, _CUDA_R_32F = 1, 0  # cudaDataType
_EIG_MODE_VECTOR = 1  # cusolverEigMode_t
_FILL_MODE_LOWER = 0  # cublasFillMode_t
_STATE: dict[str, Any] = {}


def _loaded_cusolver() -> str | None:
    """Path of the libcusolver that this process has mapped (torch loads it with its linear algebra)."""
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1] if line.strip() else ""
                if "libcusolver.so" in path and "Mg" not in path:
                    return path
    except OSError:
        return None
    return None


def _library() -> Any:
    if "lib" in _STATE:
        return _STATE["lib"]
    if not torch.cuda.is_available():
        raise RuntimeError("batched eigh: needs a CUDA device (torch.cuda.is_available() is False)")
    torch.linalg.eigh(torch.eye(2, device="cuda", dtype=torch.float64))  # makes torch load its cuSOLVER
    path = _loaded_cusolver()
    if path is None:
        raise RuntimeError("batched eigh: no libcusolver is mapped in this process after a CUDA eigh")
    lib = ctypes.CDLL(path)
    if not hasattr(lib, "cusolverDnXsyevBatched"):
        raise RuntimeError(f"batched eigh: {path} has no cusolverDnXsyevBatched (needs cuSOLVER >= 11.7)")
    vp, i64, sz, ci = ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t, ctypes.c_int
    lib.cusolverDnXsyevBatched_bufferSize.argtypes = [vp, vp, ci, ci, i64, ci, vp, i64, ci, vp, ci,
                                                       ctypes.POINTER(sz), ctypes.POINTER(sz), i64]
    lib.cusolverDnXsyevBatched.argtypes = [vp, vp, ci, ci, i64, ci, vp, i64, ci, vp, ci, vp, sz, vp, sz, vp, i64]
    handle, params = vp(), vp()
    if lib.cusolverDnCreate(ctypes.byref(handle)) != 0 or lib.cusolverDnCreateParams(ctypes.byref(params)) != 0:
        raise RuntimeError("batched eigh: cusolverDnCreate / cusolverDnCreateParams failed")
    _STATE.update(lib=lib, handle=handle, params=params, path=path)
    return lib


def batched_eigh_available() -> tuple[bool, str]:
    """(True, library path) when cuSOLVER's XsyevBatched can be called here, else (False, the reason)."""
    try:
        _library()
    except (RuntimeError, OSError) as exc:
        return False, str(exc)
    return True, _STATE["path"]


def batched_eigh(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (B, n) ascending and eigenvectors (B, n, n) of a CUDA stack of real symmetric matrices (B, n, n)."""
    if a.ndim != 3 or a.shape[1] != a.shape[2] or not a.is_cuda or a.dtype not in (torch.float64, torch.float32):
        raise ValueError(f"a: expected a CUDA float32/float64 stack (B, n, n), got {tuple(a.shape)} {a.dtype} on {a.device}")
    lib = _library()
    b, n = a.shape[0], a.shape[1]
    dt = _CUDA_R_64F if a.dtype == torch.float64 else _CUDA_R_32F
    with torch.cuda.device(a.device):
        v = a.contiguous().clone()  # symmetric: row-major and column-major storage are the same matrix
        w = torch.empty(b, n, dtype=a.dtype, device=a.device)
        info = torch.zeros(b, dtype=torch.int32, device=a.device)
        handle, params = _STATE["handle"], _STATE["params"]
        if lib.cusolverDnSetStream(handle, ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)) != 0:
            raise RuntimeError("batched eigh: cusolverDnSetStream failed")
        dev_bytes, host_bytes = ctypes.c_size_t(), ctypes.c_size_t()
        status = lib.cusolverDnXsyevBatched_bufferSize(handle, params, _EIG_MODE_VECTOR, _FILL_MODE_LOWER, n, dt, v.data_ptr(), n,
                                                       dt, w.data_ptr(), dt, ctypes.byref(dev_bytes), ctypes.byref(host_bytes), b)
        if status != 0:
            raise RuntimeError(f"batched eigh: cusolverDnXsyevBatched_bufferSize returned status {status}")
        work = torch.empty(max(1, dev_bytes.value), dtype=torch.uint8, device=a.device)
        host = ctypes.create_string_buffer(max(1, host_bytes.value))
        status = lib.cusolverDnXsyevBatched(handle, params, _EIG_MODE_VECTOR, _FILL_MODE_LOWER, n, dt, v.data_ptr(), n, dt, w.data_ptr(),
                                            dt, work.data_ptr(), dev_bytes.value, ctypes.cast(host, ctypes.c_void_p), host_bytes.value,
                                            info.data_ptr(), b)
        if status != 0:
            raise RuntimeError(f"batched eigh: cusolverDnXsyevBatched returned status {status}")
        if bool((info != 0).any()):
            raise RuntimeError(f"batched eigh: {int((info != 0).sum())} of {b} matrices did not converge (info != 0)")
    # column-major eigenvectors: column j of matrix k is row j of the row-major view
    return w, v.transpose(1, 2)
