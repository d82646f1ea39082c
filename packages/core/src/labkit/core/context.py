"""What an experiment's ``run`` receives: config, run folder, seed, device, logging, progress, loops."""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.core.atomic import atomic_write_json, atomic_write_text
from labkit.core.checkpoint import Checkpointer
from labkit.core.jsonable import to_jsonable
from labkit.core.seeding import capture_rng_state, restore_rng_state


@dataclass
class RunContext:
    """Everything an experiment needs from the runner; see :meth:`loop` for resumable work."""

    config: Any
    out_dir: Path
    seed: int
    device: str
    log: logging.Logger
    preset: str | None = None
    resume: bool = False
    keep_last: int = 3
    skipped_baselines: tuple[str, ...] = ()
    """Optional baselines dropped because their dependency is absent (see ``Experiment.optional_baselines``)."""
    _loops: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

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

        disable = os.environ.get("LABKIT_PROGRESS", "1") == "0"
        return tqdm(iterable, total=total, desc=desc, initial=initial, disable=disable, leave=False, dynamic_ncols=True)

    def save_figure(self, fig: Any, name: str, dpi: int = 120) -> Path:
        """Save a matplotlib figure as ``figures/<name>.png`` (atomically) and close it."""
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        from labkit.core.atomic import atomic_write_bytes

        return atomic_write_bytes(self.figures_dir / f"{name}.png", buffer.getvalue())

    def write_csv(self, name: str, rows: list[dict[str, Any]]) -> Path:
        """Write rows (dicts; the union of keys makes the header) to ``<name>.csv``."""
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
        return atomic_write_json(self.out_dir / f"{name}.json", obj)

    def loop(
        self,
        total: int,
        *,
        state: Callable[[], Any],
        restore: Callable[[Any], None],
        checkpoint_every: int = 1,
        name: str = "main",
        desc: str = "",
    ) -> Loop:
        """A resumable ``range(total)``: checkpoints ``state()`` and the RNGs as it goes.

        Example::

            loop = ctx.loop(cfg.epochs, state=get_state, restore=set_state, checkpoint_every=10)
            for epoch in loop:
                train_one_epoch()
                if converged:
                    loop.stop()
        """
        if total < 0:
            raise ValueError(f"loop total must be >= 0, got {total}")
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
        if name in self._loops:
            raise ValueError(f"a loop named {name!r} already ran in this experiment; give each loop its own name")
        return Loop(self, total, state, restore, checkpoint_every, name, desc)

    def _record_loop(self, name: str, done: int, total: int, stopped: bool) -> None:
        self._loops[name] = {"done": done, "total": total, "stopped": stopped}
        progress = self.out_dir / "progress.json"
        record = _read_json(progress)
        record["loops"] = dict(self._loops)
        atomic_write_json(progress, record)


class Loop:
    """Iterator returned by :meth:`RunContext.loop`; call :meth:`stop` to finish early."""

    def __init__(
        self,
        ctx: RunContext,
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
                self._ctx.log.info("loop %r resumed after step %d of %d", self.name, self.start, self.total)
        if self._stop or self.start >= self.total:
            return
        bar = self._ctx.progress(total=self.total, initial=self.start, desc=self._desc or self.name)
        try:
            for step in range(self.start, self.total):
                yield step
                done = step + 1
                if self._stop or done % self._every == 0 or done == self.total:
                    payload = {"user": self._state(), "rng": capture_rng_state(), "stopped": self._stop}
                    checkpointer.save(done, payload, metadata={"loop": self.name, "total": self.total})
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
