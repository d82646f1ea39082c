"""Durable, checksummed, keep-last-k checkpoints that survive a kill at any moment.

File format (one file per step, ``step-0000000042.ckpt``)::

    LABKIT-CHECKPOINT 1\\n
    {"step": 42, "codec": "torch"|"pickle", "sha256": "...", "size": N, "metadata": {...}}\\n
    <N payload bytes>

Writes are atomic (temp file, fsync, rename), so a kill leaves the previous checkpoints
intact; a truncated or altered file fails its checksum on load and the previous good one
is used with a warning. Payloads are pickles (``torch.save`` when torch is loaded, which
handles tensors efficiently): load only checkpoints you wrote yourself.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import pickle
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.core._errors import CheckpointError
from labkit.core.atomic import atomic_write_bytes, atomic_write_json

_MAGIC = b"LABKIT-CHECKPOINT 1\n"
_NAME = re.compile(r"^step-(\d{10})\.ckpt$")
log = logging.getLogger("labkit.checkpoint")


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the step it was taken after, the state, and its metadata."""

    step: int
    state: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


class CorruptCheckpoint(Exception):
    """A checkpoint file that is truncated, altered or not a checkpoint at all."""


class Checkpointer:
    """Save and restore training state atomically, keeping the last ``keep_last`` steps.

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
        """Atomically write ``state`` as the checkpoint of ``step``, then prune old ones."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        codec, payload = _encode(state)
        header = {
            "step": step,
            "codec": codec,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "size": len(payload),
            "metadata": metadata or {},
            "created": time.time(),
        }
        blob = _MAGIC + json.dumps(header).encode("utf-8") + b"\n" + payload
        path = atomic_write_bytes(self.path_for(step), blob)
        self._prune()
        atomic_write_json(self.directory / "progress.json", {"latest_step": step, "steps": self.steps(), "updated": time.time()})
        return path

    def load(self, step: int) -> Checkpoint:
        """Load one step, raising :class:`CorruptCheckpoint` if it fails its checks."""
        path = self.path_for(step)
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise CorruptCheckpoint(f"{path}: unreadable ({exc.strerror or exc})") from None
        return _decode(path, blob)

    def load_latest(self) -> Checkpoint | None:
        """Load the newest good checkpoint; warn about and skip corrupt newer ones.

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
                message = f"checkpoint {exc} is corrupt; falling back to the previous one"
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                log.warning(message)
                continue
            return ckpt
        if problems:
            raise CheckpointError(
                "no usable checkpoint in " + str(self.directory) + ": " + "; ".join(problems)
                + ". Nothing was deleted; rerun with --force to start over in this directory."
            )
        return None

    def _prune(self) -> None:
        for step in self.steps()[: -self.keep_last]:
            self.path_for(step).unlink(missing_ok=True)


def _encode(state: Any) -> tuple[str, bytes]:
    state = _jax_to_numpy(state)
    if "torch" in sys.modules:
        import torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        return "torch", buffer.getvalue()
    return "pickle", pickle.dumps(state, protocol=5)


def _decode(path: Path, blob: bytes) -> Checkpoint:
    if not blob.startswith(_MAGIC):
        raise CorruptCheckpoint(f"{path}: not a labkit checkpoint (bad magic)")
    end = blob.find(b"\n", len(_MAGIC))
    if end < 0:
        raise CorruptCheckpoint(f"{path}: truncated header")
    try:
        header = json.loads(blob[len(_MAGIC):end])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CorruptCheckpoint(f"{path}: unreadable header") from None
    payload = blob[end + 1:]
    if len(payload) != header.get("size") or hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise CorruptCheckpoint(f"{path}: checksum mismatch (file truncated or altered)")
    if header.get("codec") == "torch":
        import torch

        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    elif header.get("codec") == "pickle":
        state = pickle.loads(payload)
    else:
        raise CorruptCheckpoint(f"{path}: unknown codec {header.get('codec')!r}")
    return Checkpoint(int(header["step"]), state, dict(header.get("metadata") or {}), path)


def _jax_to_numpy(obj: Any) -> Any:
    # JAX arrays pickle poorly across devices and versions: store them as numpy
    if type(obj).__module__.startswith(("jax", "jaxlib")):
        import numpy as np

        return np.asarray(obj)
    if isinstance(obj, dict):
        return {k: _jax_to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_jax_to_numpy(v) for v in obj)
    return obj
