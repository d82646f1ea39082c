"""Runs experiments into run folders: fresh, resumed or refused, locked, with config, progress and results."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.core._errors import ConfigError, LabkitError
from labkit.core.atomic import atomic_write_json, record_write
from labkit.core.checkpoint import refuse_old_checkpoints
from labkit.core.config import config_to_dict, load_config_file
from labkit.core.context import RunContext
from labkit.core.devices import resolve_device
from labkit.core.memory import check_memory
from labkit.core.plugins import ExperimentEntry, PluginRegistry
from labkit.core.runfolder import LOCK, MARKER, FolderState, Manifest, inspect_folder, remove_stray_temps, wipe
from labkit.core.runlock import RunLock, describe_holder
from labkit.core.runs import LAYOUT
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
    fresh_if_unstarted: bool = False,
    world_size: int = 1,
    check_only: bool = False,
) -> RunOutcome | None:
    """Run ``plugin:experiment`` into ``out_dir`` and return its outcome.

    A used folder is refused unless ``resume`` (continue, keeping the saved config) or
    ``force`` (start over, deleting only the files labkit wrote) is given; a folder holding
    files labkit did not write is never used. Resuming a completed run returns its saved
    results; ``resume`` with no run in the folder is an error unless ``fresh_if_unstarted``.
    Every check of the input happens before anything is written; the folder is locked
    while the run writes. ``world_size`` is the number of processes (``--nproc``, torchrun; the
    caller is rank 0 of them); ``check_only`` makes every check that needs no lock and returns None
    before anything is written (what ``--nproc`` does before it starts the processes).
    """
    if resume and force:
        raise LabkitError("--resume and --force exclude each other: continue the run, or start it over")
    if seed is not None:
        check_seed(seed)
    entry = registry.experiment(full_name)
    experiment = entry.experiment
    out = Path(out_dir) if out_dir is not None else default_out_dir(full_name, preset)
    file_values = load_config_file(config_file) if config_file is not None else None
    config = experiment.make_config(preset=preset, file_values=file_values, overrides=overrides)
    if out.is_symlink():
        raise LabkitError(f"--out {str(out)!r} is a symbolic link (to {os.readlink(out)!r}); "
                          "labkit does not write or delete through links: give the folder itself")
    state = inspect_folder(out)
    _refuse(state, resume, force, fresh_if_unstarted, locked=False)
    if not (resume and state.has_config):  # a resumed run is checked with the config it keeps
        experiment.check_world_size(config, world_size)
    resolved_device = resolve_device(device, framework=experiment.framework)
    if not state.has_config or force:
        check_memory(full_name, experiment.estimate_memory(config))
    if check_only:
        if resume and state.has_config:
            _saved_run(out, entry, config, preset, config_file, overrides, seed, world_size)
        return None
    created = False
    lock: RunLock | None = None
    started = [False]
    try:
        try:
            out.mkdir(parents=True)
            created = True
        except FileExistsError:
            pass
        lock = RunLock(out).acquire()
        return _run_locked(entry, config, out, lock, preset=preset, config_file=config_file, overrides=overrides,
                           resume=resume, force=force, device=resolved_device, seed=seed, echo=echo,
                           fresh_if_unstarted=fresh_if_unstarted, started=started, registry=registry,
                           world_size=world_size)
    except OSError as exc:
        if not _is_write_error(out, exc):
            raise
        raise _write_error(out, exc) from None
    finally:
        if lock is not None and not started[0]:
            _undo_setup(out, created)
        if lock is not None:
            lock.release()
        if not started[0]:
            _drop_lock_file(out, created)


def check_seed(seed: int) -> None:
    """Refuse a seed outside ``[0, 2**32)`` (numpy's and torch's common range)."""
    if not 0 <= seed < 2**32:
        raise ConfigError("seed", f"must be an integer in [0, 2**32 - 1 = {2**32 - 1}]; got {seed}")


def _refuse(state: FolderState, resume: bool, force: bool, fresh_if_unstarted: bool, *, locked: bool) -> None:
    """Refusals by what the folder holds; before the lock, those that must write nothing at all."""
    out = str(state.path)
    if state.foreign and not state.labkit:
        raise LabkitError(f"--out {out!r} holds files that labkit did not write ({state.foreign_list()}); "
                          "labkit never writes into or deletes a folder of your files: choose another --out")
    if resume and not fresh_if_unstarted and not state.has_config and state.blank:
        raise LabkitError(f"there is no run in {out!r} to resume; drop --resume to start one there")
    if locked and state.has_config and not resume and not force:
        raise LabkitError(f"run folder {out!r} is already used; pass --resume to continue it or --force to start over")


def _run_locked(entry: ExperimentEntry, config: Any, out: Path, lock: RunLock, *, preset: str | None, config_file: Any,
                overrides: Any, resume: bool, force: bool, device: str, seed: int | None, echo: bool,
                fresh_if_unstarted: bool, started: list[bool],
                registry: PluginRegistry | None = None, world_size: int = 1) -> RunOutcome:
    full_name, experiment = entry.full_name, entry.experiment
    state = inspect_folder(out)  # again, under the lock: another run may have changed the folder meanwhile
    _refuse(state, resume, force, fresh_if_unstarted, locked=True)
    saved: dict[str, Any] | None = None
    if force and not state.blank:
        wipe(state)
        state = inspect_folder(out)
    elif not force:
        remove_stray_temps(state)
        if state.has_config:
            saved = _read_json(out / "config.json", hint="start the run over with --force")
        elif not state.blank:
            raise LabkitError(f"run folder {str(out)!r} holds labkit files but no config.json; "
                              "start the run over with --force")
    if saved is not None:
        config, seed = _saved_run(out, entry, config, preset, config_file, overrides, seed, world_size)
        previous = _read_json(out / "results.json", hint="start the run over with --force")
        if previous is not None and previous.get("status") == "completed":
            if echo:
                print(f"{full_name}: already completed in {out}", file=sys.stderr)
            return RunOutcome(full_name, out, "already-completed", previous.get("results", {}), previous.get("wall_time_s", 0.0))
        check_memory(full_name, experiment.estimate_memory(config))
        refuse_old_checkpoints(out / "checkpoints")
    if lock.previous and echo:
        print(f"labkit: taking over the lock of a run that ended without releasing it ({describe_holder(lock.previous)})",
              file=sys.stderr)
    seed = 0 if seed is None else seed
    with Manifest(out, state.ours if state.labkit else (), experiment=full_name):
        if saved is None:
            atomic_write_json(out / "config.json", {
                "experiment": full_name, "preset": preset, "seed": seed, "config": config_to_dict(config), "layout": LAYOUT,
                "world_size": world_size,
            })
        started[0] = True
        return _execute(entry, config, out, preset, seed, device, resume=saved is not None, echo=echo,
                        registry=registry, world_size=world_size)


def _saved_run(out: Path, entry: ExperimentEntry, config: Any, preset: str | None, config_file: Any, overrides: Any,
               seed: int | None, world_size: int) -> tuple[Any, int]:
    """The config and seed a resumed run keeps, after checking the command asks for nothing else."""
    full_name, experiment = entry.full_name, entry.experiment
    saved = _read_json(out / "config.json", hint="start the run over with --force") or {}
    if not isinstance(saved.get("config"), dict) or not isinstance(saved.get("seed"), int):
        raise LabkitError(f"{out / 'config.json'} is not a labkit run config; start the run over with --force")
    if saved.get("experiment") != full_name:
        raise LabkitError(f"run folder {str(out)!r} belongs to {saved.get('experiment')!r}, not {full_name!r}")
    _check_same_config(saved["config"], config_to_dict(config), preset, config_file, overrides)
    config = experiment.make_config(file_values=saved["config"])
    if seed is not None and seed != saved["seed"]:
        raise ConfigError("seed", f"the run was started with seed {saved['seed']}; a resumed run keeps it (got {seed})")
    started_on = saved.get("world_size", 1)
    if started_on != world_size:
        raise LabkitError(f"--nproc: the run in {str(out)!r} was started on {started_on} process(es) and another count "
                          f"changes what it computes; resume it on {started_on} (got {world_size})")
    experiment.check_world_size(config, world_size)
    return config, saved["seed"]


def _undo_setup(out: Path, created: bool) -> None:
    """Under the lock: a run refused or failed before it started leaves no file of its own behind."""
    if created:
        for name in (MARKER, "config.json"):
            (out / name).unlink(missing_ok=True)
    elif inspect_folder(out).blank:
        (out / MARKER).unlink(missing_ok=True)


def _drop_lock_file(out: Path, created: bool) -> None:
    """After the lock: an unmarked folder (new, blank, or of an earlier version) keeps no lock file."""
    if out.is_dir() and not (out / MARKER).exists():
        (out / LOCK).unlink(missing_ok=True)
    if created:
        with contextlib.suppress(OSError):
            out.rmdir()


def _is_write_error(out: Path, exc: OSError) -> bool:
    """A full, read-only or forbidden run folder (a user error), not some other failure of the run."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        return False
    if exc.filename is None:
        return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
    root = os.path.abspath(out)
    return os.path.abspath(exc.filename) == root or os.path.abspath(exc.filename).startswith(root + os.sep)


def _write_error(out: Path, exc: OSError) -> LabkitError:
    where = exc.filename or out
    return LabkitError(f"cannot write to run folder {str(out)!r}: {exc.strerror or exc} ({where}); "
                       "nothing of the run is lost: fix that and run again (with --resume if it had started)")


def _execute(entry: ExperimentEntry, config: Any, out: Path, preset: str | None, seed: int, device: str, *, resume: bool, echo: bool,
             registry: PluginRegistry | None = None, world_size: int = 1) -> RunOutcome:
    record_write(out / "log.txt")
    log = _make_logger(out, echo)
    progress = _read_json(out / "progress.json", hint="start the run over with --force") or {}
    progress.update(status="running", device=device, started=time.time(), world_size=world_size)
    progress.pop("error", None)
    atomic_write_json(out / "progress.json", progress)
    log.info("%s %s in %s (seed %d, device %s, preset %s)", "resuming" if resume else "starting", entry.full_name, out, seed, device, preset)
    skipped = entry.experiment.skipped_baselines()
    for baseline, module in skipped.items():
        log.warning("baseline %r skipped: its optional dependency %r is not installed", baseline, module)
    seed_everything(seed)
    ctx = RunContext(config=config, out_dir=out, seed=seed, device=device, log=log, preset=preset, resume=resume,
                     plugin=entry.plugin, experiment=entry.full_name, registry=registry, world_size=world_size,
                     skipped_baselines=tuple(skipped))
    if world_size > 1:
        from labkit.core.distributed import announce

        log.info("%d processes (world size %d): this is rank 0", world_size, world_size)
        announce({"config": config_to_dict(config), "out": str(out), "seed": seed, "preset": preset, "resume": resume,
                  "device": device})
    try:
        results = entry.experiment.run(ctx)
        if not isinstance(results, Mapping):
            raise TypeError(f"{entry.full_name}: run() must return a dict of results, got {type(results).__name__}")
        wall = ctx.elapsed_s
        headline = dict(results.get("headline", {}))
        # the csv first, then results.json: a run is complete when, and only when, results.json exists;
        # progress says "completed" only after it, so a reader never sees that status without the results
        ctx.write_csv("results", [{"metric": k, "value": v} for k, v in headline.items()])
        atomic_write_json(out / "results.json", {
            "experiment": entry.full_name, "status": "completed", "preset": preset, "seed": seed, "device": device,
            "wall_time_s": wall, "world_size": world_size, "config": config_to_dict(config), "skipped_baselines": list(skipped),
            "results": results,
        })
        _finish_progress(out, "completed", None)
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        status = "interrupted" if interrupted else "failed"
        with contextlib.suppress(OSError):  # a full or read-only folder: the original error is the one to report
            _finish_progress(out, status, (str(exc) or "interrupted by SIGINT") if interrupted else f"{type(exc).__name__}: {exc}")
        if not interrupted and not isinstance(exc, LabkitError):
            log.error("%s %s:\n%s", entry.full_name, status, traceback.format_exc(), extra={"file_only": True})
        _close_logger(log)
        raise
    log.info("%s completed in %.1f s", entry.full_name, wall)
    _close_logger(log)
    return RunOutcome(entry.full_name, out, "completed", json.loads(json.dumps(_plain(results), allow_nan=True)), wall)


def run_as_rank(registry: PluginRegistry, full_name: str, *, rank: int, world_size: int) -> int:
    """Rank > 0 of a run: take the setup from rank 0, run the same experiment, write nothing.

    Returns 0 when the experiment ran (or rank 0 had nothing to run), else rank 0's exit status.
    """
    from labkit.core.distributed import receive

    setup = receive()
    if "stop" in setup:
        return int(setup["stop"])
    entry = registry.experiment(full_name)
    config = entry.experiment.make_config(file_values=setup["config"])
    log = logging.getLogger(f"labkit.run.rank{rank}")
    log.setLevel(logging.WARNING)
    if not log.handlers:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter(f"[rank {rank}] %(message)s"))
        log.addHandler(stream)
    seed_everything(setup["seed"])
    ctx = RunContext(config=config, out_dir=Path(setup["out"]), seed=setup["seed"], device=setup["device"], log=log,
                     preset=setup["preset"], resume=setup["resume"], plugin=entry.plugin, experiment=entry.full_name, registry=registry, rank=rank,
                     world_size=world_size)
    entry.experiment.run(ctx)
    return 0


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
                device=device, seed=seed, overrides=overrides, fresh_if_unstarted=True,
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


def record_failure(out: Path, error: str) -> None:
    """Mark the unfinished run in ``out`` failed with ``error`` (a rank that died could not say so itself)."""
    if not (out / "progress.json").is_file() or (out / "results.json").exists():
        return
    try:
        with RunLock(out):
            _finish_progress(out, "failed", error)
    except (LabkitError, OSError):
        pass  # another run holds the folder, or it cannot be written: the message on the terminal stands


def _finish_progress(out: Path, status: str, error: str | None) -> None:
    try:
        progress = _read_json(out / "progress.json", hint="") or {}
    except LabkitError:
        progress = {}
    progress.update(status=status, finished=time.time())
    if error:
        progress["error"] = error
    atomic_write_json(out / "progress.json", progress)


def _read_json(path: Path, hint: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabkitError(f"{path} is unreadable ({exc}); {hint}") from None
    if not isinstance(data, dict):
        raise LabkitError(f"{path} is unreadable (not a JSON object); {hint}")
    return data


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
        # a traceback goes to log.txt only: Python prints it once more on the terminal
        stream.addFilter(lambda record: not getattr(record, "file_only", False))
        log.addHandler(stream)
    return log


def _close_logger(log: logging.Logger) -> None:
    for handler in list(log.handlers):
        handler.close()
        log.removeHandler(handler)
