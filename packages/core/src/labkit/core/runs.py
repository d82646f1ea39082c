"""Reading a run folder back: config, status, results, figures and artifacts, without a lock.

Every file of a run folder is replaced atomically (temp file + rename), so each read here
sees a whole version of it; ``load_run`` takes no lock and works on a folder whose run is
still going (its status then says ``running``), failed (``error`` says why) or was written
by an earlier labkit (``missing`` says what that version did not write).

Example:
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text(json.dumps({"experiment": "toy:count", "seed": 0, "config": {"n": 2}}))
    >>> run = load_run(folder)
    >>> run.config, run.status, sorted(run.missing)
    ({'n': 2}, 'unknown', ['artifacts/', 'progress.json', 'results.json'])
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.core._errors import LabkitError
from labkit.core.artifacts import ArtifactError, hook_of, list_artifacts, read_artifact

if TYPE_CHECKING:
    from labkit.core.plugins import PluginRegistry

LAYOUT = 2
"""Run-folder layout version the runner records in ``config.json``; 2 added ``artifacts/``."""


@dataclass
class Run:
    """A run folder as read by :func:`load_run`.

    ``status`` is ``completed``, ``running``, ``failed``, ``interrupted`` or ``unknown`` (no
    progress record). ``results`` is what the experiment returned (empty until it completes);
    ``artifacts`` maps each artifact's name to its description.
    """

    path: Path
    experiment: str
    config: dict[str, Any]
    seed: int | None
    preset: str | None
    status: str
    results: dict[str, Any]
    error: str | None
    device: str | None
    wall_time_s: float | None
    artifacts: dict[str, str]
    figures: list[Path]
    missing: list[str]
    _records: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _registry: PluginRegistry | None = field(default=None, repr=False)

    @property
    def headline(self) -> dict[str, Any]:
        """The headline figures of the results (empty until the run completes)."""
        return dict(self.results.get("headline", {}))

    def artifact_record(self, name: str) -> dict[str, Any]:
        """The ``artifact.json`` of one artifact: factory, config, description, metadata."""
        if name not in self._records:
            raise ArtifactError(self._no_artifact(name))
        return self._records[name]

    def artifact(self, name: str, *, registry: PluginRegistry | None = None) -> Any:
        """Rebuild artifact ``name`` through its plugin's registered factory (checksum verified).

        The factory is called as ``factory(config, tensors)``; tensors load on the CPU.
        """
        if name not in self._records:
            raise ArtifactError(self._no_artifact(name))
        record, tensors = read_artifact(self.path, name)
        kind, factory_name = record["factory"]["kind"], record["factory"]["name"]
        if registry is None:
            if self._registry is None:
                from labkit.core.plugins import PluginRegistry

                self._registry = PluginRegistry.discover()
            registry = self._registry
        try:
            factory = registry.resolve(hook_of(kind), factory_name)
        except LabkitError as exc:
            plugin = record.get("metadata", {}).get("plugin_distribution") or factory_name.partition(":")[0]
            raise ArtifactError(f"artifact {name!r} needs the {kind} factory {factory_name!r} (install {plugin}): {exc}") from None
        return factory(record["config"], tensors)

    def _no_artifact(self, name: str) -> str:
        if "artifacts/" in self.missing:
            return f"run {str(self.path)!r} has no artifacts (the labkit that wrote it saved none); rerun it to get {name!r}"
        return f"run {str(self.path)!r} has no artifact {name!r}; its artifacts: {', '.join(self.artifacts) or 'none'}"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabkitError(f"{path} is unreadable ({exc})") from None
    return data if isinstance(data, dict) else None


def load_run(path: str | Path) -> Run:
    """Read the run folder ``path`` (see the module docstring); no lock is taken.

    ``run.artifact(name)`` rebuilds an artifact through the factory of the installed plugin.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise LabkitError(f"run folder {str(folder)!r} does not exist")
    # results.json is written once, at the end, and holds the final config: read it first, so a
    # run that completes while this reads is seen either as running or as completed, never mixed
    results = _read(folder / "results.json")
    progress = _read(folder / "progress.json")
    config = _read(folder / "config.json")
    if config is None and results is None:
        raise LabkitError(f"{str(folder)!r} is not a labkit run folder (no config.json or results.json)")
    missing = [name for name, data in (("config.json", config), ("progress.json", progress)) if data is None]
    base = results if results is not None else config or {}
    status = "completed" if results is not None and results.get("status") == "completed" else (progress or {}).get("status", "unknown")
    if results is None and status not in ("running", "failed", "interrupted"):
        missing.append("results.json")
    records = list_artifacts(folder)
    if (config or {}).get("layout", 1) < LAYOUT and not records:
        missing.append("artifacts/")  # written by a labkit that saved no artifacts
    figures = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    return Run(
        path=folder,
        experiment=str(base.get("experiment", "?")),
        config=dict(base.get("config", {})),
        seed=base.get("seed"),
        preset=base.get("preset"),
        status=str(status),
        results=dict((results or {}).get("results", {})),
        error=(progress or {}).get("error") if status != "completed" else None,
        device=(results or {}).get("device") or (progress or {}).get("device"),
        wall_time_s=(results or {}).get("wall_time_s"),
        artifacts={name: str(r.get("description", "")) for name, r in records.items()},
        figures=figures,
        missing=sorted(missing),
        _records=records,
    )
