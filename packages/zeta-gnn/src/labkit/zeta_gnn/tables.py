"""Plain-text zero tables (Odlyzko style, one ordinate a line) and the table shipped with the package."""

from __future__ import annotations

import functools
import math
import os
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["SHIPPED_FILE", "ZeroTableError", "read_zero_table", "shipped_zeros", "write_zero_table"]

SHIPPED_FILE = "zeros_first.npz"


class ZeroTableError(ValueError):
    """A malformed zero table; the message names the file and the line."""


def read_zero_table(path: str | os.PathLike[str], *, offset: float = 0.0) -> np.ndarray:
    """Read ordinates, one a line; blank lines and ``#`` comments are skipped.

    Odlyzko's files store ``t - offset`` for a large base height; pass that ``offset`` back.
    Values must be finite, positive after the offset and strictly increasing.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "z.txt"; _ = p.write_text("14.134725142\\n21.022039639\\n")
        >>> read_zero_table(p).tolist()
        [14.134725142, 21.022039639]
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ZeroTableError(f"zero table {str(path)!r}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ZeroTableError(f"zero table {str(path)!r}: not UTF-8 text ({exc.reason})") from None
    values: list[float] = []
    lines: list[int] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        fields = body.split()
        if len(fields) != 1:
            raise ZeroTableError(f"zero table {str(path)!r} line {lineno}: expected one number, got {body!r}")
        try:
            value = float(fields[0]) + offset
        except ValueError:
            raise ZeroTableError(f"zero table {str(path)!r} line {lineno}: not a number: {fields[0]!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise ZeroTableError(
                f"zero table {str(path)!r} line {lineno}: ordinate must be finite and > 0, got {value!r}"
            )
        if values and value <= values[-1]:
            raise ZeroTableError(
                f"zero table {str(path)!r} line {lineno}: not increasing ({value!r} after {values[-1]!r} "
                f"on line {lines[-1]})"
            )
        values.append(value)
        lines.append(lineno)
    if not values:
        raise ZeroTableError(f"zero table {str(path)!r}: contains no ordinates")
    return np.asarray(values, dtype=np.float64)


def write_zero_table(
    path: str | os.PathLike[str], zeros: np.ndarray, *, digits: int = 12, header: str | None = None
) -> Path:
    """Atomically write ordinates one a line with ``digits`` decimals (validated like the reader).

    Example:
        >>> import tempfile, pathlib
        >>> p = write_zero_table(pathlib.Path(tempfile.mkdtemp()) / "z.txt", np.array([14.1347251417]))
        >>> p.read_text().splitlines()[-1]
        '14.134725141700'
    """
    from labkit.core.atomic import atomic_write_text

    z = np.asarray(zeros, dtype=np.float64)
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"zeros: need a non-empty 1-D array, got shape {z.shape}")
    if not np.all(np.isfinite(z)) or np.any(z <= 0):
        bad = int(np.argmax(~np.isfinite(z) | (z <= 0)))
        raise ValueError(f"zeros: entry {bad} is {z[bad]!r}; ordinates must be finite and > 0")
    if np.any(np.diff(z) <= 0):
        bad = int(np.argmax(np.diff(z) <= 0)) + 1
        raise ValueError(f"zeros: not increasing at entry {bad} ({z[bad]!r} after {z[bad - 1]!r})")
    if not 0 <= digits <= 17:
        raise ValueError(f"digits: must be in 0..17, got {digits}")
    lines = [f"# {line}" for line in (header or "").splitlines()]
    lines += [f"{v:.{digits}f}" for v in z]
    return atomic_write_text(path, "\n".join(lines) + "\n")


@functools.cache
def shipped_zeros() -> np.ndarray:
    """The first zeros shipped with the package (computed by this package's flint backend).

    Stored as float64 in a compressed ``.npz`` under ``data/``; regenerate it with
    ``python -m labkit.zeta_gnn.make_table``. An empty array if the file is absent.

    Example:
        >>> z = shipped_zeros(); bool(z.size >= 10000 and abs(z[0] - 14.134725141734693) < 1e-12)
        True
    """
    ref = resources.files("labkit.zeta_gnn") / "data" / SHIPPED_FILE
    try:
        with resources.as_file(ref) as p, np.load(p) as data:
            zeros = np.asarray(data["zeros"], dtype=np.float64)
    except FileNotFoundError:
        return np.empty(0, dtype=np.float64)
    zeros.setflags(write=False)
    return zeros
