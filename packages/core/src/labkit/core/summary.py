"""The summary table of ``labkit run --all``: one row per flagship, its headline figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from labkit.core._errors import LabkitError
from labkit.core.atomic import atomic_write_json, atomic_write_text
from labkit.core.runner import RunOutcome

_HEADER = "| experiment | status | time (s) | headline |"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_rows(outcomes: Sequence[RunOutcome]) -> list[dict[str, str]]:
    """Flatten outcomes into rows: experiment, status, time, then ``metric=value`` headline pairs."""
    rows = []
    for o in outcomes:
        headline = o.results.get("headline", {}) if o.results else {}
        figures = "; ".join(f"{k} = {_fmt(v)}" for k, v in headline.items())
        rows.append({
            "experiment": o.full_name,
            "status": o.status,
            "time_s": f"{o.wall_time_s:.1f}",
            "headline": figures if o.status != "failed" else (o.error or ""),
            "run_dir": str(o.out_dir),
        })
    return rows


def write_summary(outcomes: Sequence[RunOutcome], root: Path) -> Path:
    """Write ``summary.md`` and ``summary.json`` under ``root``; return the markdown path."""
    rows = summary_rows(outcomes)
    lines = [_HEADER, "|---|---|---|---|"]
    lines += [f"| {r['experiment']} | {r['status']} | {r['time_s']} | {r['headline']} |" for r in rows]
    atomic_write_json(root / "summary.json", [{**r, "results": o.results.get("headline", {})} for r, o in zip(rows, outcomes, strict=True)])
    return atomic_write_text(root / "summary.md", "\n".join(lines) + "\n")


def check_summary_target(root: Path) -> None:
    """Refuse (before any run) a ``root`` whose ``summary.md``/``summary.json`` are not labkit's summaries."""
    for name, ours in (("summary.md", _is_our_markdown), ("summary.json", _is_our_json)):
        path = Path(root) / name
        if path.is_symlink() or (path.exists() and not ours(path)):
            raise LabkitError(f"{path} exists and is not a labkit summary; labkit would overwrite it: "
                              "move it, or give --out another folder")


def _is_our_markdown(path: Path) -> bool:
    try:
        return path.read_text("utf-8").startswith(_HEADER + "\n")
    except (OSError, UnicodeDecodeError):
        return False


def _is_our_json(path: Path) -> bool:
    try:
        rows = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(rows, list) and all(isinstance(r, dict) and {"experiment", "run_dir"} <= set(r) for r in rows)


def print_summary(outcomes: Sequence[RunOutcome], title: str = "labkit run --all") -> None:
    """Print the summary as a rich table (headline figures one per line)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=True)
    for column in ("experiment", "status", "time (s)", "headline figures"):
        table.add_column(column, overflow="fold")
    for row in summary_rows(outcomes):
        table.add_row(row["experiment"], row["status"], row["time_s"], row["headline"].replace("; ", "\n"))
    Console(width=140).print(table)
