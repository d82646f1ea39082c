"""An exclusive lock on a run folder for the life of a run, with its holder (pid, host) written beside it.

The lock is ``filelock``'s (``flock`` on POSIX): the kernel releases it when its process dies,
so the lock of a killed run is taken over by the next one, which says whose lock it was.
A live holder makes every other run, ``--resume`` or ``--force`` on the folder refuse.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with RunLock(folder):
    ...     try:
    ...         RunLock(folder).acquire()
    ...     except LabkitError as exc:
    ...         print(str(exc).split(" by ")[0])
    run folder ... is in use
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import filelock

from labkit.core._errors import LabkitError
from labkit.core.atomic import atomic_write_bytes
from labkit.core.runfolder import HOLDER, LOCK


class RunLock:
    """Hold ``folder/.labkit-lock`` exclusively; ``previous`` is the holder record of a dead run, if any."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._lock = filelock.FileLock(str(self.folder / LOCK), timeout=0, thread_local=False)
        self.previous: dict[str, Any] | None = None

    def acquire(self) -> RunLock:
        """Take the lock now or raise :class:`LabkitError` naming the holder."""
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise LabkitError(f"run folder {str(self.folder)!r} is in use by {describe_holder(read_holder(self.folder))}; "
                              "wait for that run to end (or stop it) and try again") from None
        except OSError as exc:
            raise LabkitError(f"cannot lock run folder {str(self.folder)!r}: {exc.strerror or exc}") from None
        try:
            # a holder record under a lock we could take belongs to a run that died without releasing it
            self.previous = read_holder(self.folder)
            record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                      "command": " ".join(sys.argv)}
            atomic_write_bytes(self.folder / HOLDER, json.dumps(record).encode("utf-8") + b"\n")
        except BaseException:
            self._lock.release()
            raise
        return self

    def release(self) -> None:
        """Remove the holder record and release the lock."""
        if self._lock.is_locked:
            (self.folder / HOLDER).unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def read_holder(folder: Path) -> dict[str, Any] | None:
    """The holder record beside the lock, if readable."""
    try:
        data = json.loads((Path(folder) / HOLDER).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_holder(holder: dict[str, Any] | None) -> str:
    """``labkit process 123 on host h (started 2026-01-01 10:00:00)`` or a generic phrase."""
    if not holder:
        return "another labkit process"
    started = holder.get("started")
    when = f" (started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))})" if isinstance(started, (int, float)) else ""
    return f"labkit process {holder.get('pid', '?')} on host {holder.get('host', '?')}{when}"
