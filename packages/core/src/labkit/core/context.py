"""What an experiment's ``run`` receives: config, run folder, seed, device, logging, progress, loops,
the plugin registry (:meth:`RunContext.resolve`) and artifacts (:meth:`RunContext.save_artifact`)."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from labkit.core.atomic import atomic_write_json, atomic_write_text
from labkit.core.checkpoint import Checkpointer
from labkit.core.jsonable import to_jsonable
from labkit.core.seeding import capture_rng_state, restore_rng_state
from labkit.core.tracking import restore_tracked, snapshot_tracked

if TYPE_CHECKING:
    from labkit.core.plugins import PluginRegistry

ConfigT = TypeVar("ConfigT")


@dataclass
class RunContext(Generic[ConfigT]):
    """Everything an experiment needs from the runner; see :meth:`loop` for resumable work.

    ``plugin`` and ``experiment`` name what runs (``"zeta-gnn"``, ``"zeta-gnn:train"``);
    ``registry`` is the plugin registry the runner discovered (found on first use if not given).
    """

    config: ConfigT
    out_dir: Path
    seed: int
    device: str
    log: logging.Logger
    preset: str | None = None
    resume: bool = False
    keep_last: int = 3
    plugin: str | None = None
    experiment: str | None = None
    registry: PluginRegistry | None = field(default=None, repr=False)
    rank: int = 0
    world_size: int = 1
    skipped_baselines: tuple[str, ...] = ()
    """Optional baselines dropped because their dependency is absent (see ``Experiment.optional_baselines``)."""
    _loops: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _elapsed_before: float = field(default=0.0, repr=False)
    _session_start: float = field(default_factory=time.perf_counter, repr=False)

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process of a run that writes its folder (see :mod:`labkit.core.distributed`)."""
        return self.rank == 0

    @property
    def local_device(self) -> str:
        """Where this process computes: ``cuda:LOCAL_RANK`` under ``--nproc``/torchrun on CUDA, else ``device``."""
        from labkit.core.distributed import current

        group = current()
        return group.device if group is not None and self.world_size > 1 else self.device

    def steps(self, n_batches: int, accumulate: int = 1) -> list[Any]:
        """This rank's optimizer steps over ``n_batches`` (see :func:`labkit.core.distributed.step_groups`).

        Each :class:`~labkit.core.distributed.Step` lists the batches this rank computes and how many
        the step holds in all: scale each batch's loss by ``1 / step.count``, backpropagate, then
        :meth:`sum_gradients` and step the optimizer; the result is the one-process mean.
        """
        from labkit.core.distributed import step_groups

        return step_groups(n_batches, accumulate=accumulate, rank=self.rank, world=self.world_size)

    def sum_gradients(self, params: Iterable[Any]) -> None:
        """Sum the gradients of ``params`` over the ranks (missing ones as zeros); one process: fills ``None``s."""
        from labkit.core.distributed import sum_gradients

        sum_gradients(params)

    def sum_values(self, values: Iterable[float]) -> list[float]:
        """Each value summed over the ranks (one process: the values)."""
        from labkit.core.distributed import sum_values

        return sum_values(list(values))

    def sum_arrays(self, arrays: Iterable[Any]) -> list[Any]:
        """Each numpy array summed over the ranks (float64): gather sharded work, zeros where a rank computed nothing."""
        from labkit.core.distributed import sum_arrays

        return sum_arrays(list(arrays))

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank: compute something once (``obj if ctx.is_main else None``) and share it."""
        from labkit.core.distributed import broadcast

        return broadcast(obj)

    @property
    def elapsed_s(self) -> float:
        """Seconds this run has worked, summed over resumed sessions (each up to its last checkpoint)."""
        return self._elapsed_before + time.perf_counter() - self._session_start

    def _restore_elapsed(self, saved: float) -> None:
        # a loop restored from a checkpoint resumes the clock at the time that checkpoint was taken
        self._elapsed_before = saved - (time.perf_counter() - self._session_start)

    def resolve(self, kind: str, name: str) -> Callable[..., Any]:
        """The factory registered as ``name`` for ``kind`` (model, simulator, loss, optimizer, dataset).

        ``name`` is ``"plugin:name"``, or a bare name: this run's own plugin is asked first, then
        any plugin that registers it (an error if several do). Optimizer factories follow one
        contract, ``factory(params, *, lr, weight_decay=0.0, seed=None, total_steps=None)``, so
        ``ctx.resolve("optimizer", cfg.optimizer)(model.parameters(), lr=cfg.lr, seed=ctx.seed)``
        selects AdamW (``adamw``, ``adam``, ``sgd`` come with core) or ``qimad`` alike.
        """
        from labkit.core.artifacts import hook_of

        hook = hook_of(kind)
        registry = self._registry()
        if ":" not in name and self.plugin and f"{self.plugin}:{name}" in registry.factories(hook):
            name = f"{self.plugin}:{name}"
        return registry.resolve(hook, name)

    def save_artifact(
        self,
        name: str,
        obj: Any,
        *,
        factory: str,
        config: Mapping[str, Any],
        description: str,
        kind: str = "model",
    ) -> Path:
        """Save ``obj`` (``state_dict()`` or a mapping of name -> array) as ``artifacts/<name>/``.

        ``factory`` names the registered factory that rebuilds it (``"plugin:name"``; a bare name
        means this run's plugin) and ``kind`` the hook it is registered through. Rebuilding calls
        ``factory(config, tensors)``: ``config`` is everything besides the tensors that the factory
        needs, as JSON. ``labkit.core.load_run(out_dir).artifact(name)`` gives the object back.
        """
        from labkit.core import __version__
        from labkit.core.artifacts import ArtifactError, hook_of, write_artifact

        if not self.is_main:  # rank 0 alone writes the run folder
            return self.out_dir / "artifacts" / name

        full = factory if ":" in factory or not self.plugin else f"{self.plugin}:{factory}"
        registry = self._registry()
        if full not in registry.factories(hook_of(kind)):
            known = ", ".join(sorted(registry.factories(hook_of(kind)))) or "none"
            raise ArtifactError(f"artifact {name!r}: no {kind} factory {full!r} is registered; registered: {known}")
        owner = registry.plugins.get(full.partition(":")[0])
        metadata = {
            "labkit_core": __version__,
            "plugin": owner.name if owner else None,
            "plugin_distribution": owner.distribution if owner else None,
            "plugin_version": owner.version if owner else None,
            "experiment": self.experiment,
            "seed": self.seed,
            "device": self.device,
            "preset": self.preset,
        }
        path = write_artifact(self.out_dir, name, obj, factory=full, kind=kind, config=config,
                              description=description, metadata=metadata)
        self.log.info("artifact %r saved in %s (%s %s)", name, path, kind, full)
        return path

    @contextlib.contextmanager
    def threads(self, n: int | None) -> Iterator[None]:
        """Limit torch intra-op and BLAS/OpenMP threads to ``n`` inside the block, restoring them after.

        ``None`` or ``0`` leaves the settings alone, so a config field ``threads = 0`` means "all".
        torch's setting is pinned when torch is loaded as the block starts (core never imports it):
        import torch before entering the block in code that uses it.

        Example::

            with ctx.threads(cfg.torch_threads):
                train()
        """
        from labkit.core.timing import pinned_threads

        with pinned_threads(n or None):
            yield

    def _registry(self) -> PluginRegistry:
        if self.registry is None:
            from labkit.core.plugins import PluginRegistry

            self.registry = PluginRegistry.discover()
        return self.registry

    @property
    def figures_dir(self) -> Path:
        """``out_dir / "figures"`` (created on first use)."""
        path = self.out_dir / "figures"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def checkpointer(self, name: str = "main") -> Checkpointer:
        """A :class:`Checkpointer` at ``out_dir/checkpoints/<name>``."""
        return Checkpointer(self.out_dir / "checkpoints" / name, keep_last=self.keep_last)

    def progress(self, iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str = "", initial: int = 0) -> Any:
        """A tqdm progress bar (to stderr; hidden when ``LABKIT_PROGRESS=0``)."""
        from tqdm.auto import tqdm

        disable = os.environ.get("LABKIT_PROGRESS", "1") == "0" or not self.is_main
        return tqdm(iterable, total=total, desc=desc, initial=initial, disable=disable, leave=False, dynamic_ncols=True)

    def save_figure(self, fig: Any, name: str, dpi: int = 120) -> Path:
        """Save a matplotlib figure as ``figures/<name>.png`` (atomically) and close it."""
        import matplotlib.pyplot as plt

        if not self.is_main:
            plt.close(fig)
            return self.out_dir / "figures" / f"{name}.png"
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        from labkit.core.atomic import atomic_write_bytes

        return atomic_write_bytes(self.figures_dir / f"{name}.png", buffer.getvalue())

    def write_csv(self, name: str, rows: list[dict[str, Any]]) -> Path:
        """Write rows (dicts; the union of keys makes the header) to ``<name>.csv``."""
        if not self.is_main:
            return self.out_dir / f"{name}.csv"
        header: list[str] = []
        for row in rows:
            header.extend(k for k in row if k not in header)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow(to_jsonable(row))
        return atomic_write_text(self.out_dir / f"{name}.csv", buffer.getvalue())

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` to ``<name>.json`` atomically."""
        if not self.is_main:
            return self.out_dir / f"{name}.json"
        return atomic_write_json(self.out_dir / f"{name}.json", obj)

    def loop(
        self,
        total: int,
        *,
        track: Mapping[str, Any] | None = None,
        state: Callable[[], Any] | None = None,
        restore: Callable[[Any], None] | None = None,
        checkpoint_every: int = 1,
        name: str = "main",
        desc: str = "",
    ) -> Loop:
        """A resumable ``range(total)``: checkpoints what it tracks and the RNGs as it goes.

        ``track`` names the state to save and restore: objects with ``state_dict()`` /
        ``load_state_dict()`` (modules, optimizers, schedulers, mutable containers of your own)
        or :class:`Tracked` get/set pairs for immutable state (JAX pytrees, numpy arrays,
        numbers). ``state``/``restore`` (one getter and one setter) remain for loops whose whole
        state is one value; give one form or the other.

        Example::

            loop = ctx.loop(cfg.epochs, track={"model": model, "opt": opt, "params": Tracked(get, put)},
                            checkpoint_every=10)
            for epoch in loop:
                train_one_epoch()
                if converged:
                    loop.stop()
        """
        if (state is None) != (restore is None):
            raise ValueError("give state= and restore= together")
        if track is not None and state is not None:
            raise ValueError("give track= or state=/restore=, not both")
        if track is None and state is None:
            raise ValueError("ctx.loop needs track= (what to save and restore) or state=/restore=")
        if track is not None:
            items = dict(track)
            state, restore = (lambda: snapshot_tracked(items)), (lambda saved: restore_tracked(items, saved))
        assert state is not None and restore is not None
        if total < 0:
            raise ValueError(f"loop total must be >= 0, got {total}")
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
        if name in self._loops:
            raise ValueError(f"a loop named {name!r} already ran in this experiment; give each loop its own name")
        return Loop(self, total, state, restore, checkpoint_every, name, desc)

    def _record_loop(self, name: str, done: int, total: int, stopped: bool) -> None:
        self._loops[name] = {"done": done, "total": total, "stopped": stopped}
        if not self.is_main:
            return
        progress = self.out_dir / "progress.json"
        record = _read_json(progress)
        record["loops"] = dict(self._loops)
        atomic_write_json(progress, record)


class Loop:
    """Iterator returned by :meth:`RunContext.loop`; call :meth:`stop` to finish early."""

    def __init__(
        self,
        ctx: RunContext[Any],
        total: int,
        state: Callable[[], Any],
        restore: Callable[[Any], None],
        every: int,
        name: str,
        desc: str,
    ) -> None:
        self._ctx, self.total, self._state, self._restore = ctx, total, state, restore
        self._every, self.name, self._desc = every, name, desc
        self._stop = False
        self.start = 0
        ctx._loops[name] = {"done": 0, "total": total, "stopped": False}

    def stop(self) -> None:
        """Finish after the current step; the checkpoint records it, so a resume does not restart."""
        self._stop = True

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called (in this run or the one resumed)."""
        return self._stop

    def __iter__(self) -> Iterator[int]:
        checkpointer = self._ctx.checkpointer(self.name)
        if self._ctx.resume:
            saved = checkpointer.load_latest()
            if saved is not None:
                self._restore(saved.state["user"])
                restore_rng_state(saved.state["rng"])
                self.start, self._stop = saved.step, bool(saved.state["stopped"])
                if isinstance(saved.metadata.get("elapsed_s"), (int, float)):
                    self._ctx._restore_elapsed(saved.metadata["elapsed_s"])
                self._ctx.log.info("loop %r resumed after step %d of %d", self.name, self.start, self.total)
        if self._stop or self.start >= self.total:
            return
        bar = self._ctx.progress(total=self.total, initial=self.start, desc=self._desc or self.name)
        try:
            for step in range(self.start, self.total):
                yield step
                done = step + 1
                if self._ctx.is_main and (self._stop or done % self._every == 0 or done == self.total):
                    payload = {"user": self._state(), "rng": capture_rng_state(), "stopped": self._stop}
                    checkpointer.save(done, payload, metadata={"loop": self.name, "total": self.total,
                                                               "elapsed_s": self._ctx.elapsed_s})
                    self._ctx._record_loop(self.name, done, self.total, self._stop)
                bar.update(1)
                if self._stop:
                    break
        finally:
            bar.close()


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
