"""Durable, checksummed, keep-last-k checkpoints that survive a kill at any moment.

File format (one file per step, ``step-0000000042.ckpt``)::

    LABKIT-CHECKPOINT 2\n
    {"schema": 2, "step": 42, "codec": "labkit-state-1", "size": N, "metadata": {...}, "created": t}\n
    <N payload bytes: labkit.core.codec.encode_state(state)>
    sha256:<64 hex digits of everything above>\n

The checksum covers the header too, and the header's step must match the file name: a file
that fails any check is *corrupt*, warned about once, skipped, and never deleted. Pruning
(keep-last-k) counts only verified checkpoints, so a planted or damaged file can never evict
a good one. The payload codec (:mod:`labkit.core.codec`) cannot execute code; checkpoints of
the first format (pickle or ``torch.save``) are recognised and refused, never loaded.
Writes are atomic (temp file, fsync, rename), so a kill leaves the previous checkpoints intact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.core._errors import CheckpointError, LabkitError
from labkit.core.atomic import atomic_write_bytes, atomic_write_json, remove_file
from labkit.core.codec import StateDecodeError, decode_state, encode_state

_MAGIC = b"LABKIT-CHECKPOINT 2\n"
_OLD_MAGIC = b"LABKIT-CHECKPOINT 1\n"
_SCHEMA = 2
_CODEC = "labkit-state-1"
_DIGEST = len(b"sha256:") + 64 + 1
_NAME = re.compile(r"^step-(\d{10})\.ckpt$")
log = logging.getLogger("labkit.checkpoint")
_warned: set[tuple[str, tuple[int, int, int]]] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the step it was taken after, the state, and its metadata."""

    step: int
    state: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


class CorruptCheckpoint(Exception):
    """A checkpoint file that is truncated, altered or not a checkpoint at all."""


class OldCheckpointFormat(LabkitError):
    """A checkpoint written by labkit before 0.2 (pickle or ``torch.save``): refused, never loaded."""


class Checkpointer:
    """Save and restore training state atomically, keeping the last ``keep_last`` verified steps.

    Example:
        >>> import tempfile
        >>> ck = Checkpointer(tempfile.mkdtemp(), keep_last=2)
        >>> _ = ck.save(1, {"w": [1.0]}); _ = ck.save(2, {"w": [2.0]}); _ = ck.save(3, {"w": [3.0]})
        >>> ck.steps(), ck.load_latest().state
        ([2, 3], {'w': [3.0]})
    """

    def __init__(self, directory: str | Path, keep_last: int = 3) -> None:
        if keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        self.directory = Path(directory)
        self.keep_last = keep_last
        # files verified (or written) by this object, by stat signature: pruning never rereads them
        self._verified: dict[str, tuple[int, int, int]] = {}

    def path_for(self, step: int) -> Path:
        """The file that holds ``step``."""
        return self.directory / f"step-{step:010d}.ckpt"

    def steps(self) -> list[int]:
        """Steps with a checkpoint file on disk, oldest first (corrupt ones included)."""
        if not self.directory.is_dir():
            return []
        found = (_NAME.match(p.name) for p in self.directory.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def save(self, step: int, state: Any, metadata: dict[str, Any] | None = None) -> Path:
        """Atomically write ``state`` as the checkpoint of ``step``, then prune old verified ones."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        payload = encode_state(state)
        header = {"schema": _SCHEMA, "step": step, "codec": _CODEC, "size": len(payload),
                  "metadata": metadata or {}, "created": time.time()}
        body = _MAGIC + json.dumps(header, allow_nan=False).encode("utf-8") + b"\n" + payload
        blob = body + b"sha256:" + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n"
        path = atomic_write_bytes(self.path_for(step), blob)
        self._remember(path)
        self._prune()
        atomic_write_json(self.directory / "progress.json", {"latest_step": step, "steps": self.steps(), "updated": time.time()})
        return path

    def load(self, step: int) -> Checkpoint:
        """Load one step, raising :class:`CorruptCheckpoint` if it fails its checks.

        Raises :class:`OldCheckpointFormat` for a checkpoint of the first (pickle) format.
        """
        path = self.path_for(step)
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise CorruptCheckpoint(f"{path}: unreadable ({exc.strerror or exc})") from None
        ckpt = _decode(path, step, blob)
        self._remember(path)
        return ckpt

    def load_latest(self) -> Checkpoint | None:
        """Load the newest good checkpoint; warn (once per file) about and skip corrupt newer ones.

        Returns None when there is no checkpoint at all; raises :class:`CheckpointError`
        when files exist but none is readable (nothing is deleted).
        """
        steps = self.steps()
        problems: list[str] = []
        for step in reversed(steps):
            try:
                ckpt = self.load(step)
            except CorruptCheckpoint as exc:
                problems.append(str(exc))
                _warn_once(self.path_for(step), f"checkpoint {exc} is corrupt; falling back to the previous one")
                continue
            return ckpt
        if problems:
            raise CheckpointError(
                "no usable checkpoint in " + str(self.directory) + ": " + "; ".join(problems)
                + ". Nothing was deleted; rerun with --force to start over in this directory."
            )
        return None

    def _remember(self, path: Path) -> None:
        sig = _signature(path)
        if sig is not None:
            self._verified[path.name] = sig

    def _is_verified(self, step: int) -> bool:
        path = self.path_for(step)
        sig = _signature(path)
        if sig is None:
            return False
        if self._verified.get(path.name) == sig:
            return True
        try:
            _verify(path, step, path.read_bytes())
        except (CorruptCheckpoint, OldCheckpointFormat, OSError):
            return False
        self._verified[path.name] = sig
        return True

    def _prune(self) -> None:
        # only checkpoints that pass every check count towards keep_last, and only they are removed
        verified = [s for s in self.steps() if self._is_verified(s)]
        for step in verified[: -self.keep_last]:
            remove_file(self.path_for(step))
            self._verified.pop(self.path_for(step).name, None)


def refuse_old_checkpoints(root: str | Path) -> None:
    """Raise :class:`OldCheckpointFormat` for the first checkpoint of the pickle format under ``root``."""
    for path in sorted(Path(root).glob("**/step-*.ckpt")):
        try:
            with open(path, "rb") as handle:
                head = handle.read(len(_OLD_MAGIC))
        except OSError:
            continue
        if head == _OLD_MAGIC:
            _verify(path, 0, head)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _warn_once(path: Path, message: str) -> None:
    key = (str(path.resolve()), _signature(path) or (0, 0, 0))
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    log.warning(message)


def _verify(path: Path, step: int, blob: bytes) -> tuple[dict[str, Any], bytes]:
    """Check magic, checksum (header included), schema, codec, size and the step of the file name."""
    if blob.startswith(_OLD_MAGIC):
        raise OldCheckpointFormat(
            f"{path} is a checkpoint of an earlier labkit (pickle format, which can execute code): "
            "it is not loaded. Finish this run with the labkit version that started it, "
            "or start it over with --force"
        )
    if not blob.startswith(_MAGIC):
        raise CorruptCheckpoint(f"{path}: not a labkit checkpoint (bad magic)")
    body, trailer = blob[:-_DIGEST], blob[-_DIGEST:]
    if len(blob) < len(_MAGIC) + _DIGEST or not trailer.startswith(b"sha256:") or not trailer.endswith(b"\n"):
        raise CorruptCheckpoint(f"{path}: truncated (no checksum trailer)")
    if hashlib.sha256(body).hexdigest().encode("ascii") != trailer[7:-1]:
        raise CorruptCheckpoint(f"{path}: checksum mismatch (file truncated or altered)")
    end = body.find(b"\n", len(_MAGIC))
    try:
        header = json.loads(body[len(_MAGIC):end]) if end > 0 else None
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise CorruptCheckpoint(f"{path}: unreadable header")
    payload = body[end + 1:]
    expected = {"schema": _SCHEMA, "step": step, "codec": _CODEC, "size": len(payload)}
    wrong = [f"{key} {header.get(key)!r} (expected {value!r})" for key, value in expected.items() if header.get(key) != value]
    if wrong:
        raise CorruptCheckpoint(f"{path}: header does not match the file: " + ", ".join(wrong))
    return header, payload


def _decode(path: Path, step: int, blob: bytes) -> Checkpoint:
    header, payload = _verify(path, step, blob)
    try:
        state = decode_state(payload)
    except StateDecodeError as exc:
        raise CorruptCheckpoint(f"{path}: {exc}") from None
    metadata = header.get("metadata")
    return Checkpoint(step, state, dict(metadata) if isinstance(metadata, dict) else {}, path)
