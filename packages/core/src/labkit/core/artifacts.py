"""Named artifacts of a run: tensors in safetensors (code-free) plus what rebuilds the object.

A run folder holds ``artifacts/<name>/`` with ``tensors-<sha256 prefix>.safetensors`` and ``artifact.json``.
``artifact.json`` names the factory (``"<plugin>:<name>"`` and its kind), the JSON config the
factory needs, a description, and metadata (labkit and plugin versions, seed, device, date,
the sha256 of the tensors file, header included). Nothing here unpickles or executes code
from the folder.

The one contract between core and a plugin: a factory registered through
``labkit_models`` / ``labkit_simulators`` / ``labkit_losses`` / ``labkit_datasets`` that
artifacts reference is called as ``factory(config, tensors)`` and returns the object.
``state_dict_factory("module:Class")`` writes that factory for a class built from keyword
arguments that loads a state dict.

Example:
    >>> import tempfile, numpy as np
    >>> folder = Path(tempfile.mkdtemp())
    >>> path = write_artifact(folder, "curve", {"y": np.arange(3.0)}, factory="toy:curve", kind="dataset",
    ...                       config={"label": "demo"}, description="a curve")
    >>> record, tensors = read_artifact(folder, "curve")
    >>> record["factory"], record["config"], tensors["y"].tolist()
    ({'kind': 'dataset', 'name': 'toy:curve'}, {'label': 'demo'}, [0.0, 1.0, 2.0])
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.core._errors import LabkitError
from labkit.core.atomic import atomic_write_bytes, atomic_write_json
from labkit.core.jsonable import to_jsonable

FORMAT = "labkit-artifact"
VERSION = 1
KINDS = ("model", "simulator", "loss", "optimizer", "dataset")
"""Factory kinds; kind ``k`` is registered through the hook ``labkit_<k>s``."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class ArtifactError(LabkitError):
    """An artifact that is missing, altered, or cannot be rebuilt."""


def hook_of(kind: str) -> str:
    """The hook that registers factories of ``kind``.

    Example:
        >>> hook_of("optimizer")
        'labkit_optimizers'
    """
    if kind not in KINDS:
        raise ArtifactError(f"factory kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return f"labkit_{kind}s"


def to_tensors(obj: Any) -> dict[str, Any]:
    """The flat ``name -> array`` mapping of ``obj``: its ``state_dict()``, or ``obj`` itself if a mapping.

    Values may be torch tensors, numpy or JAX arrays, or Python numbers (stored as 0-d arrays).

    Example:
        >>> sorted(to_tensors({"w": [1.0, 2.0], "n": 3}))
        ['n', 'w']
    """
    mapping = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not isinstance(mapping, Mapping):
        raise ArtifactError(f"an artifact needs an object with state_dict() or a mapping of name -> array; got {type(obj).__name__}")
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise ArtifactError(f"artifact tensor names must be strings; got {key!r}")
        if isinstance(value, (Mapping, str, bytes)) or value is None:
            raise ArtifactError(
                f"artifact tensor {key!r} is a {type(value).__name__}, not an array; put plain values in the artifact's config"
            )
        out[key] = value
    return out


def _encode(tensors: Mapping[str, Any]) -> tuple[str, bytes]:
    torch = sys.modules.get("torch")
    if torch is not None and any(isinstance(v, torch.Tensor) for v in tensors.values()):
        from safetensors.torch import save

        # clone: safetensors refuses tensors that share storage (tied weights, views)
        return "torch", save({k: torch.as_tensor(v).detach().cpu().contiguous().clone() for k, v in tensors.items()})
    import numpy as np
    from safetensors.numpy import save as save_np

    # np.require, not ascontiguousarray: that one turns 0-d arrays into shape (1,)
    return "numpy", save_np({k: np.require(np.asarray(v), requirements="C") for k, v in tensors.items()})


def write_artifact(
    run_dir: str | Path,
    name: str,
    obj: Any,
    *,
    factory: str,
    kind: str,
    config: Mapping[str, Any],
    description: str,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``artifacts/<name>/`` under ``run_dir``; returns the folder (see the module example).

    The tensors file (named by its checksum) is written first and ``artifact.json`` last, both
    atomically, so a reader that sees ``artifact.json`` sees a complete artifact whose checksum
    it can verify; saving again keeps the previous tensors file for readers still on it.
    """
    if not _NAME.match(name):
        raise ArtifactError(f"artifact name {name!r}: use letters, digits, '_', '-', '.' (at most 100)")
    hook_of(kind)
    if factory.count(":") != 1 or not all(factory.split(":")):
        raise ArtifactError(f"artifact {name!r}: factory must be '<plugin>:<name>', got {factory!r}")
    try:
        json_config = json.loads(json.dumps(to_jsonable(dict(config)), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"artifact {name!r}: config must be JSON (finite numbers, strings, lists, dicts): {exc}") from None
    flavour, payload = _encode(to_tensors(obj))
    digest = hashlib.sha256(payload).hexdigest()
    folder = Path(run_dir) / "artifacts" / name
    folder.mkdir(parents=True, exist_ok=True)
    previous = _read_record(folder)
    tensors_file = f"tensors-{digest[:16]}.safetensors"
    atomic_write_bytes(folder / tensors_file, payload)
    record = {
        "format": FORMAT,
        "version": VERSION,
        "name": name,
        "factory": {"kind": kind, "name": factory},
        "config": json_config,
        "description": description,
        "tensors": {"file": tensors_file, "flavour": flavour, "sha256": digest, "size": len(payload)},
        "metadata": {
            **to_jsonable(dict(metadata or {})),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    atomic_write_json(folder / "artifact.json", record)
    # keep the file the previous record named: a reader that read that record can still finish
    keep = {tensors_file, (previous or {}).get("tensors", {}).get("file")}
    for old_file in folder.glob("tensors-*.safetensors"):
        if old_file.name not in keep:
            old_file.unlink(missing_ok=True)
    return folder


def list_artifacts(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """``name -> artifact.json record`` for every complete artifact of a run folder."""
    root = Path(run_dir) / "artifacts"
    found: dict[str, dict[str, Any]] = {}
    if not root.is_dir():
        return found
    for folder in sorted(root.iterdir()):
        record = _read_record(folder)
        if record is not None:
            found[folder.name] = record
    return found


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((folder / "artifact.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def read_artifact(run_dir: str | Path, name: str, *, attempts: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(record, tensors)`` of one artifact, the tensors checked against the recorded sha256.

    Takes no lock: a record and tensors file replaced while being read give a checksum
    mismatch, which is retried (``attempts`` times) before it is reported as an altered file.
    """
    folder = Path(run_dir) / "artifacts" / name
    problem = ""
    for attempt in range(attempts):
        record = _read_record(folder)
        if record is None:
            known = ", ".join(list_artifacts(run_dir)) or "none"
            raise ArtifactError(f"run {str(run_dir)!r} has no artifact {name!r}; its artifacts: {known}")
        if record.get("version", 0) > VERSION:
            raise ArtifactError(f"artifact {name!r} has format version {record['version']}; this labkit-core reads up to {VERSION}: upgrade labkit-core")
        info = record["tensors"]
        try:
            payload = (folder / info["file"]).read_bytes()
        except OSError as exc:
            problem = f"tensors file unreadable ({exc.strerror or exc})"
        else:
            if hashlib.sha256(payload).hexdigest() == info["sha256"]:
                return record, _decode(info["flavour"], payload)
            problem = "sha256 of the tensors file does not match artifact.json (file altered or truncated)"
        time.sleep(0.05 * (attempt + 1))
    raise ArtifactError(f"artifact {name!r} in {str(run_dir)!r}: {problem}")


def _decode(flavour: str, payload: bytes) -> dict[str, Any]:
    if flavour == "torch":
        from safetensors.torch import load

        return dict(load(payload))
    if flavour == "numpy":
        from safetensors.numpy import load as load_np

        return dict(load_np(payload))
    raise ArtifactError(f"unknown tensors flavour {flavour!r}")


def state_dict_factory(target: str | Callable[..., Any]) -> Callable[[Mapping[str, Any], Mapping[str, Any]], Any]:
    """A rebuild factory for a class built from keyword arguments that loads a state dict.

    ``target`` is the class or a lazy ``"module:attr"`` reference (imported on first call, so a
    ``plugin.py`` that registers it stays light). The factory calls ``target(**config)`` and then
    ``load_state_dict(tensors)``.

    Example:
        >>> class Scale:
        ...     def __init__(self, n): self.w = [0.0] * n
        ...     def load_state_dict(self, sd): self.w = list(sd["w"])
        >>> state_dict_factory(Scale)({"n": 2}, {"w": [1.0, 2.0]}).w
        [1.0, 2.0]
    """

    def factory(config: Mapping[str, Any], tensors: Mapping[str, Any]) -> Any:
        from labkit.core.plugins import load_factory

        obj = load_factory(target)(**config)
        obj.load_state_dict(dict(tensors))
        return obj

    factory.__doc__ = f"Rebuild {target!r} from its keyword config and state dict."
    return factory
