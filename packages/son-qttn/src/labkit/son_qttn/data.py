"""Image sources: scikit-learn's bundled digits (no download) and Fashion-MNIST IDX files.

IDX is the MNIST container: a 4-byte magic (0, 0, type code, number of dimensions), one
big-endian uint32 per dimension, then the raw data. Files may be gzip-compressed. Nothing is
fetched: the user gives the path.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
DATASETS = ("digits", "fashion_mnist")


class IDXFormatError(ValueError):
    """An IDX file is malformed (bad magic, type, header or size)."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) into a numpy array.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.idx")
        >>> write_idx(p, np.arange(6, dtype=np.uint8).reshape(2, 3))
        >>> read_idx(p).tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise IDXFormatError(f"path: cannot read IDX file {str(p)!r}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IDXFormatError(f"path: {str(p)!r} is a corrupt gzip file: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise IDXFormatError(f"path: {str(p)!r} is not an IDX file (magic must start with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise IDXFormatError(f"path: {str(p)!r} has unknown IDX type code 0x{code:02x}; allowed {sorted(_IDX_TYPES)}")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise IDXFormatError(f"path: {str(p)!r} has a truncated IDX header ({ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    need = int(np.prod(dims)) * dtype.itemsize
    body = raw[4 + 4 * ndim :]
    if len(body) != need:
        raise IDXFormatError(f"path: {str(p)!r} holds {len(body)} data bytes, header {dims} needs {need}")
    return np.frombuffer(body, dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool = False) -> None:
    """Write ``array`` as an IDX file (gzip when ``compress``); used by tests and tools."""
    arr = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"array: dtype {arr.dtype} has no IDX type code")
    head = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    blob = head + arr.astype(_IDX_TYPES[code]).tobytes()
    Path(path).write_bytes(gzip.compress(blob) if compress else blob)


def load_images(dataset: str = "digits", *, n_images: int | None = None, path: str | None = None) -> np.ndarray:
    """Images as float arrays in [0, 1], shape (B, H, W).

    ``digits``: scikit-learn's bundled 8×8 digits. ``fashion_mnist``: the 28×28 images of
    the IDX file at ``path`` (e.g. ``train-images-idx3-ubyte.gz``).

    Example:
        >>> load_images("digits", n_images=4).shape
        (4, 8, 8)
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset: got {dataset!r}, allowed: {', '.join(DATASETS)}")
    if dataset == "digits":
        from sklearn.datasets import load_digits

        x = load_digits().images / 16.0
    else:
        if not path:
            raise ValueError("data_path: fashion_mnist needs the path of an IDX images file")
        x = read_idx(path)
        if x.ndim != 3:
            raise IDXFormatError(f"path: expected an images file of shape (n, rows, cols), got {x.shape}")
        x = x.astype(np.float64) / max(float(x.max()), 1.0)
    if n_images is not None:
        if not 1 <= n_images <= len(x):
            raise ValueError(f"n_images: the {dataset} set holds {len(x)} images; got {n_images}")
        x = x[:n_images]
    return np.ascontiguousarray(x, dtype=np.float64)
