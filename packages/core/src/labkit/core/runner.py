"""Runs experiments into run folders: fresh, resumed or refused, with config, progress and results."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.core._errors import ConfigError, LabkitError
from labkit.core.atomic import atomic_write_json
from labkit.core.config import config_to_dict, load_config_file
from labkit.core.context import RunContext
from labkit.core.devices import resolve_device
from labkit.core.plugins import ExperimentEntry, PluginRegistry
from labkit.core.seeding import seed_everything


@dataclass(frozen=True)
class RunOutcome:
    """What one run produced: status is ``completed``, ``already-completed`` or ``failed``."""

    full_name: str
    out_dir: Path
    status: str
    results: dict[str, Any]
    wall_time_s: float
    error: str | None = None


def default_out_dir(full_name: str, preset: str | None, root: str | Path = "runs") -> Path:
    """``runs/<plugin>-<experiment>[-<preset>]``."""
    stem = full_name.replace(":", "-")
    return Path(root) / (f"{stem}-{preset}" if preset else stem)


def run_experiment(
    registry: PluginRegistry,
    full_name: str,
    *,
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    out_dir: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    device: str = "auto",
    seed: int | None = None,
    echo: bool = True,
) -> RunOutcome:
    """Run ``plugin:experiment`` into ``out_dir`` and return its outcome.

    A used folder is refused unless ``resume`` (continue, keeping the saved config) or
    ``force`` (start over) is given. Resuming a completed run returns its saved results.
    """
    entry = registry.experiment(full_name)
    experiment = entry.experiment
    out = Path(out_dir) if out_dir is not None else default_out_dir(full_name, preset)
    file_values = load_config_file(config_file) if config_file is not None else None
    config = experiment.make_config(preset=preset, file_values=file_values, overrides=overrides)
    if resume and force:
        raise LabkitError("--resume and --force exclude each other: continue the run, or start it over")

    saved = _read_json(out / "config.json")
    used = out.exists() and any(out.iterdir())
    if used and force:
        shutil.rmtree(out)
        used, saved = False, None
    if used and not resume:
        raise LabkitError(f"run folder {str(out)!r} is already used; pass --resume to continue it or --force to start over")
    if used and saved is None:
        raise LabkitError(f"run folder {str(out)!r} holds no config.json of a labkit run; choose another --out or pass --force")
    if used and saved is not None:
        if saved.get("experiment") != full_name:
            raise LabkitError(f"run folder {str(out)!r} belongs to {saved.get('experiment')!r}, not {full_name!r}")
        _check_same_config(saved["config"], config_to_dict(config), preset, config_file, overrides)
        config = experiment.make_config(file_values=saved["config"])
        if seed is not None and seed != saved["seed"]:
            raise ConfigError("seed", f"the run was started with seed {saved['seed']}; a resumed run keeps it (got {seed})")
        seed = saved["seed"]
        previous = _read_json(out / "results.json")
        if previous is not None and previous.get("status") == "completed":
            if echo:
                print(f"{full_name}: already completed in {out}", file=sys.stderr)
            return RunOutcome(full_name, out, "already-completed", previous["results"], previous.get("wall_time_s", 0.0))
    seed = 0 if seed is None else seed
    resolved_device = resolve_device(device, framework=experiment.framework)
    out.mkdir(parents=True, exist_ok=True)
    if not used:
        atomic_write_json(out / "config.json", {
            "experiment": full_name, "preset": preset, "seed": seed, "config": config_to_dict(config),
        })
    return _execute(entry, config, out, preset, seed, resolved_device, resume=used, echo=echo)


def _execute(entry: ExperimentEntry, config: Any, out: Path, preset: str | None, seed: int, device: str, *, resume: bool, echo: bool) -> RunOutcome:
    log = _make_logger(out, echo)
    progress = _read_json(out / "progress.json") or {}
    progress.update(status="running", device=device, started=time.time())
    atomic_write_json(out / "progress.json", progress)
    log.info("%s %s in %s (seed %d, device %s, preset %s)", "resuming" if resume else "starting", entry.full_name, out, seed, device, preset)
    skipped = entry.experiment.skipped_baselines()
    for baseline, module in skipped.items():
        log.warning("baseline %r skipped: its optional dependency %r is not installed", baseline, module)
    seed_everything(seed)
    ctx = RunContext(config=config, out_dir=out, seed=seed, device=device, log=log, preset=preset, resume=resume,
                     skipped_baselines=tuple(skipped))
    start = time.perf_counter()
    try:
        results = entry.experiment.run(ctx)
        if not isinstance(results, Mapping):
            raise TypeError(f"{entry.full_name}: run() must return a dict of results, got {type(results).__name__}")
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        _finish_progress(out, status, f"{type(exc).__name__}: {exc}")
        if not isinstance(exc, LabkitError):
            log.error("%s %s:\n%s", entry.full_name, status, traceback.format_exc())
        _close_logger(log)
        raise
    wall = time.perf_counter() - start
    headline = dict(results.get("headline", {}))
    atomic_write_json(out / "results.json", {
        "experiment": entry.full_name, "status": "completed", "preset": preset, "seed": seed, "device": device,
        "wall_time_s": wall, "config": config_to_dict(config), "skipped_baselines": list(skipped), "results": results,
    })
    ctx.write_csv("results", [{"metric": k, "value": v} for k, v in headline.items()])
    _finish_progress(out, "completed", None)
    log.info("%s completed in %.1f s", entry.full_name, wall)
    _close_logger(log)
    return RunOutcome(entry.full_name, out, "completed", json.loads(json.dumps(_plain(results), allow_nan=True)), wall)


def run_all(
    registry: PluginRegistry,
    *,
    preset: str = "quick",
    out_root: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    device: str = "auto",
    seed: int | None = None,
    overrides: Sequence[str] = (),
) -> list[RunOutcome]:
    """Run every plugin's flagship with ``preset``; a failing one is recorded and the rest still run."""
    root = Path(out_root) if out_root is not None else Path("runs") / preset
    outcomes: list[RunOutcome] = []
    flagships = registry.flagships()
    if not flagships:
        raise LabkitError("no installed plugin offers a flagship experiment; see `labkit list`")
    for plugin in sorted(flagships):
        entry = flagships[plugin]
        target = default_out_dir(entry.full_name, None, root)
        print(f"\n=== {entry.full_name} (preset {preset}) -> {target}", file=sys.stderr)
        start = time.perf_counter()
        try:
            preset_here = preset if preset in entry.experiment.presets else None
            outcomes.append(run_experiment(
                registry, entry.full_name, preset=preset_here, out_dir=target, resume=resume, force=force,
                device=device, seed=seed, overrides=overrides,
            ))
        except Exception as exc:  # one broken plugin must not stop the others
            message = str(exc) if isinstance(exc, LabkitError) else f"{type(exc).__name__}: {exc}"
            print(f"{entry.full_name} FAILED: {message}", file=sys.stderr)
            outcomes.append(RunOutcome(entry.full_name, target, "failed", {}, time.perf_counter() - start, message))
    return outcomes


def _check_same_config(saved: Mapping[str, Any], asked: Mapping[str, Any], preset: str | None, config_file: Any, overrides: Any) -> None:
    if preset is None and config_file is None and not overrides:
        return
    differences = [f"{k}: saved {saved.get(k)!r}, asked {v!r}" for k, v in asked.items() if saved.get(k) != v]
    if differences:
        raise LabkitError("--resume keeps the saved config, but the command asks for another: " + "; ".join(differences))


def _finish_progress(out: Path, status: str, error: str | None) -> None:
    progress = _read_json(out / "progress.json") or {}
    progress.update(status=status, finished=time.time())
    if error:
        progress["error"] = error
    atomic_write_json(out / "progress.json", progress)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabkitError(f"{path} is unreadable ({exc}); pass --force to start the run over") from None


def _plain(obj: Any) -> Any:
    from labkit.core.jsonable import to_jsonable

    return to_jsonable(obj)


def _make_logger(out: Path, echo: bool) -> logging.Logger:
    log = logging.getLogger(f"labkit.run.{out.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    file_handler = logging.FileHandler(out / "log.txt", encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(file_handler)
    if echo:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(stream)
    return log


def _close_logger(log: logging.Logger) -> None:
    for handler in list(log.handlers):
        handler.close()
        log.removeHandler(handler)
