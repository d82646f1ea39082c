"""Run folders are the user's data: the ``.labkit-run`` marker and its manifest, inspection, ``--force``.

Like git with untracked files, labkit deletes only what it knows it wrote. A run folder
carries a ``.labkit-run`` marker (JSON) listing every path labkit wrote there; every write
goes through :mod:`labkit.core.atomic`, which records the path *before* writing it. A
``config.json`` alone never makes a folder labkit's. Folders of earlier labkit versions
(a valid labkit ``config.json``, no marker) are recognised by labkit's known file names.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "thesis.tex").write_text("mine")
    4
    >>> state = inspect_folder(root)
    >>> state.marked, state.foreign
    (False, ['thesis.tex'])
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.core._errors import LabkitError
from labkit.core.atomic import TEMP_PATTERN, add_recorder, atomic_write_bytes, remove_recorder

MARKER = ".labkit-run"
LOCK = ".labkit-lock"
HOLDER = ".labkit-lock.holder"
#: labkit's own bookkeeping files at the top of a run folder
OWN = frozenset({MARKER, LOCK, HOLDER})
_FORMAT = 1
_LEGACY = re.compile(
    r"^(config\.json|progress\.json|results\.json|results\.csv|log\.txt|figures/[^/]+\.png"
    r"|checkpoints/[^/]+/step-\d{10}\.ckpt|checkpoints/[^/]+/progress\.json)$"
)
_LIST_AT_MOST = 10


@dataclass
class FolderState:
    """What a (possible) run folder holds, classified without changing anything."""

    path: Path
    exists: bool = False
    marked: bool = False
    legacy: bool = False
    ours: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    more_foreign: bool = False
    has_config: bool = False

    @property
    def labkit(self) -> bool:
        """Marked, or a run folder of an earlier labkit version."""
        return self.marked or self.legacy

    @property
    def blank(self) -> bool:
        """Missing, or holding nothing but labkit's bookkeeping files and empty folders."""
        return not self.foreign and not [p for p in self.ours if p not in OWN]

    def foreign_list(self) -> str:
        """The files labkit did not write, for messages."""
        return ", ".join(self.foreign) + (", ..." if self.more_foreign else "")


def inspect_folder(path: str | os.PathLike[str]) -> FolderState:
    """Classify every entry of ``path`` as labkit's (``ours``) or not (``foreign``); never follows links."""
    root = Path(path)
    state = FolderState(root)
    if not os.path.lexists(root):
        return state
    if not root.is_dir() or root.is_symlink():
        raise LabkitError(f"--out {str(root)!r} exists and is not a folder")
    state.exists = True
    manifest = read_manifest(root)
    state.marked = manifest is not None
    state.has_config = (root / "config.json").is_file()
    state.legacy = not state.marked and _is_labkit_config(root / "config.json")
    known = set(manifest or ()) | OWN

    def is_ours(rel: str) -> bool:
        if rel in known or (state.legacy and _LEGACY.match(rel)):
            return True
        head, _, name = rel.rpartition("/")
        temp = TEMP_PATTERN.match(name)
        if temp is None:
            return False
        return is_ours(f"{head}/{temp['name']}" if head else temp["name"])

    try:
        for rel in _walk(root):
            if is_ours(rel):
                state.ours.append(rel)
            elif len(state.foreign) < _LIST_AT_MOST:
                state.foreign.append(rel)
            else:
                state.more_foreign = True
                if not state.labkit:
                    break  # a folder of the user's files: a few names are enough to refuse it
    except OSError as exc:
        raise LabkitError(f"cannot read run folder {str(root)!r}: {exc.strerror or exc}") from None
    return state


def read_manifest(root: Path) -> list[str] | None:
    """The paths listed by ``root/.labkit-run``, or None without a marker (a bad marker lists nothing)."""
    try:
        data = json.loads((root / MARKER).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return []
    paths = data.get("paths") if isinstance(data, dict) else None
    return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else []


def wipe(state: FolderState) -> None:
    """``--force``: delete labkit's files of ``state`` (never anything else), keeping the bookkeeping.

    Refuses (nothing deleted) when the folder holds anything labkit did not write.
    """
    if state.foreign:
        raise LabkitError(
            f"run folder {str(state.path)!r} also holds files that labkit did not write ({state.foreign_list()}); "
            "nothing was deleted: move them out of the folder, or choose another --out"
        )
    for rel in sorted(state.ours, key=lambda r: r.count("/"), reverse=True):
        if rel in OWN:
            continue
        target = state.path / rel
        try:
            target.unlink()
        except IsADirectoryError:
            _rmdir_quietly(target)
        except FileNotFoundError:
            pass
    for directory in sorted({state.path / rel.rpartition("/")[0] for rel in state.ours if "/" in rel},
                            key=lambda p: len(p.parts), reverse=True):
        for parent in [directory, *directory.parents]:
            if parent == state.path or state.path not in parent.parents:
                break
            _rmdir_quietly(parent)


def remove_stray_temps(state: FolderState) -> list[str]:
    """Delete temp files that killed atomic writes of labkit left behind; return their paths."""
    removed = []
    for rel in state.ours:
        if TEMP_PATTERN.match(rel.rpartition("/")[2]):
            (state.path / rel).unlink(missing_ok=True)
            removed.append(rel)
    state.ours = [r for r in state.ours if r not in removed]
    return removed


class Manifest:
    """Records, in ``.labkit-run``, every path labkit writes under ``root`` while it is active.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> with Manifest(root, experiment="toy:count"):
        ...     _ = atomic_write_bytes(root / "sub" / "a.bin", b"1")
        >>> read_manifest(root)
        ['sub/a.bin']
    """

    def __init__(self, root: str | os.PathLike[str], paths: Iterable[str] = (), *, experiment: str = "") -> None:
        self.root = Path(os.path.abspath(root))
        self._prefix = str(self.root) + os.sep
        self._paths = {p for p in paths if p not in OWN and not TEMP_PATTERN.match(p.rpartition("/")[2])}
        self._experiment = experiment
        self._lock = threading.Lock()

    def __enter__(self) -> Manifest:
        self.save()
        add_recorder(self._record)
        return self

    def __exit__(self, *exc: Any) -> None:
        remove_recorder(self._record)

    def save(self) -> None:
        """Write the marker with the current manifest."""
        from labkit.core import __version__

        with self._lock:
            data = {"labkit_run": _FORMAT, "written_by": f"labkit-core {__version__}",
                    "experiment": self._experiment, "paths": sorted(self._paths)}
            atomic_write_bytes(self.root / MARKER, json.dumps(data).encode("utf-8") + b"\n")

    def _record(self, event: str, path: Path) -> None:
        absolute = os.path.abspath(path)
        if not absolute.startswith(self._prefix):
            return
        rel = Path(absolute[len(self._prefix):]).as_posix()
        if rel in OWN:
            return
        if event == "remove":
            with self._lock:
                self._paths.discard(rel)  # persisted with the next new path; a stale entry is harmless
            return
        with self._lock:
            if rel in self._paths:
                return
            self._paths.add(rel)
        self.save()


def _walk(root: Path) -> Iterable[str]:
    """Relative posix paths of every file and link under ``root`` (links are listed, never followed)."""
    for current, dirs, files in os.walk(root, followlinks=False):
        base = Path(current)
        links = [d for d in dirs if (base / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if d not in links)
        for name in sorted(files + links):
            yield (base / name).relative_to(root).as_posix()


def _is_labkit_config(path: Path) -> bool:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(data, dict) and isinstance(data.get("experiment"), str) and ":" in data["experiment"]
            and isinstance(data.get("config"), dict) and isinstance(data.get("seed"), int))


def _rmdir_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (something not ours is inside) or already gone
        path.rmdir()
