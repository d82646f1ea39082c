"""Checksummed, atomically written chunk files of zero ordinates (the zeros disk cache)."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

__all__ = ["ZeroCache", "default_cache_dir"]

_MAGIC = b"LKZETA1\n"


def default_cache_dir() -> Path:
    """``$LABKIT_ZETA_CACHE`` if set, else ``<user cache dir>/labkit/zeta_zeros``.

    Example:
        >>> isinstance(default_cache_dir(), Path)
        True
    """
    env = os.environ.get("LABKIT_ZETA_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("labkit")) / "zeta_zeros"


class ZeroCache:
    """Chunk ``k`` holds zeros ``k*chunk_size+1 .. (k+1)*chunk_size`` in one self-checking file.

    File layout: magic line, 32-byte SHA-256 of the payload, payload = little-endian float64.
    Files are written through :func:`labkit.core.atomic_write_bytes` (temp + fsync + rename), so
    a kill leaves either a complete chunk or none; a corrupt chunk is warned about and recomputed.

    Example:
        >>> import tempfile
        >>> c = ZeroCache(tempfile.mkdtemp(), chunk_size=2, backend="flint")
        >>> _ = c.save(0, np.array([14.1, 21.0])); c.load(0).tolist()
        [14.1, 21.0]
    """

    def __init__(self, root: str | os.PathLike[str], chunk_size: int, backend: str = "flint") -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size: must be >= 1, got {chunk_size}")
        self.chunk_size = int(chunk_size)
        # chunk size and backend are part of the path: chunks of different layouts never mix
        self.directory = Path(root) / f"{backend}_c{self.chunk_size}"

    def path(self, k: int) -> Path:
        """File of chunk ``k``."""
        return self.directory / f"chunk_{k:09d}.f64"

    def save(self, k: int, values: np.ndarray) -> Path:
        """Atomically write chunk ``k`` (exactly ``chunk_size`` finite, increasing values)."""
        from labkit.core.atomic import atomic_write_bytes

        values = np.ascontiguousarray(values, dtype="<f8")
        if values.shape != (self.chunk_size,):
            raise ValueError(f"values: chunk {k} needs {self.chunk_size} zeros, got shape {values.shape}")
        if not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
            raise ValueError(f"values: chunk {k} is not a finite increasing sequence")
        payload = values.tobytes()
        return atomic_write_bytes(self.path(k), _MAGIC + hashlib.sha256(payload).digest() + payload)

    def load(self, k: int) -> np.ndarray | None:
        """Chunk ``k`` if present and intact, else ``None`` (a corrupt file is warned about and removed)."""
        path = self.path(k)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        head = len(_MAGIC) + 32
        payload = raw[head:]
        ok = (
            raw.startswith(_MAGIC)
            and len(payload) == 8 * self.chunk_size
            and hashlib.sha256(payload).digest() == raw[len(_MAGIC) : head]
        )
        if not ok:
            warnings.warn(f"zeros cache: {path} is corrupt; it will be recomputed", stacklevel=2)
            path.unlink(missing_ok=True)
            return None
        return np.frombuffer(payload, dtype="<f8").astype(np.float64)

    def chunks(self) -> list[int]:
        """Indices of the chunks present on disk (not verified)."""
        if not self.directory.is_dir():
            return []
        return sorted(int(p.stem.split("_")[1]) for p in self.directory.glob("chunk_*.f64"))
