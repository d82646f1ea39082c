"""Crash-safe file writes: temp file in the same folder, fsync, rename, fsync the folder.

Every file labkit writes into a run folder goes through :func:`atomic_write_bytes` (or is
announced with :func:`record_write`), so the run folder's manifest (see
:mod:`labkit.core.runfolder`) knows exactly which paths are labkit's: the path is recorded
*before* the file is written, so a kill can never leave an unrecorded labkit file. Temp files
are named ``.<name>.<8 characters>.tmp`` (:data:`TEMP_PATTERN`); files honour the umask.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labkit.core.jsonable import to_jsonable

#: the names of this module's temp files; ``name`` is the file being written
TEMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")
_recorders: list[Callable[[str, Path], None]] = []
_umask: int | None = None
_umask_lock = threading.Lock()


def add_recorder(recorder: Callable[[str, Path], None]) -> None:
    """Call ``recorder("write"|"remove", path)`` before each write and after each removal."""
    _recorders.append(recorder)


def remove_recorder(recorder: Callable[[str, Path], None]) -> None:
    """Stop calling ``recorder`` (no error if it is not registered)."""
    if recorder in _recorders:
        _recorders.remove(recorder)


def record_write(path: str | os.PathLike[str]) -> None:
    """Announce a file about to be written other than through this module (a log file, say)."""
    for recorder in list(_recorders):
        recorder("write", Path(path))


def remove_file(path: str | os.PathLike[str]) -> None:
    """Delete a file labkit wrote (missing is fine) and tell the recorders.

    Example:
        >>> import tempfile, pathlib
        >>> p = atomic_write_bytes(pathlib.Path(tempfile.mkdtemp()) / "x", b"1"); remove_file(p); p.exists()
        False
    """
    Path(path).unlink(missing_ok=True)
    for recorder in list(_recorders):
        recorder("remove", Path(path))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    Example:
        >>> import tempfile, pathlib
        >>> p = atomic_write_bytes(pathlib.Path(tempfile.mkdtemp()) / "x.bin", b"abc")
        >>> p.read_bytes()
        b'abc'
    """
    target = Path(path)
    record_write(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp creates 0600; a run folder is often shared with a lab, so honour the umask
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        # a failed write must leave neither a half file nor a stray temp file behind
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 text (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON; numpy/torch scalars and arrays are converted.

    Example:
        >>> import tempfile, pathlib, json
        >>> p = atomic_write_json(pathlib.Path(tempfile.mkdtemp()) / "r.json", {"a": 1})
        >>> json.loads(p.read_text())
        {'a': 1}
    """
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, allow_nan=True) + "\n")


def _current_umask() -> int:
    try:  # Linux reports the umask without changing it (os.umask would, racing other threads)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    global _umask
    with _umask_lock:
        if _umask is None:
            _umask = os.umask(0o022)
            os.umask(_umask)
        return _umask


def _fsync_dir(directory: Path) -> None:
    # the rename is only durable once the directory entry is on disk
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
