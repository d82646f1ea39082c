"""Quality study: QIMAD vs Adam, RMSprop, PSO and CMA-ES at equal loss/gradient-evaluation budgets.

Usage (from the repo root)::

    .venv/bin/python packages/qimad/scripts/quality_study.py --seeds 10 --budget 2000 --digits-budget 400

Writes ``runs.csv``, ``summary.csv`` and ``table.md`` (median [Q1, Q3] of the final loss per problem
and method, plus median test accuracy on digits and median wall time) into ``--out``.
Single-threaded torch; every method starts from the same seeded point per seed.
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import time

from labkit.qimad.problems import make_problem
from labkit.qimad.study import METHODS, headline, run_method, summarise


def _write_csv(path: pathlib.Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def table(summary: list[dict], budgets: dict[str, int]) -> str:
    """A markdown table: one row per problem, one column per method, best median in bold."""
    problems = list(dict.fromkeys(s["problem"] for s in summary))
    methods = list(dict.fromkeys(s["method"] for s in summary))
    lines = ["| problem (budget) | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for p in problems:
        cells = {s["method"]: s for s in summary if s["problem"] == p}
        best = min(s["median"] for s in cells.values())
        row = []
        for m in methods:
            s = cells[m]
            txt = f"{s['median']:.3g} [{s['q1']:.3g}, {s['q3']:.3g}]"
            if "median_test_accuracy" in s:
                txt += f", acc {100 * s['median_test_accuracy']:.1f}%"
            row.append(f"**{txt}**" if s["median"] == best else txt)
        lines.append(f"| {p} ({budgets[p]}) | " + " | ".join(row) + " |")
    lines.append("")
    lines.append("| median wall time per run (s) | " + " | ".join(methods) + " |")
    lines.append("|---" * (len(methods) + 1) + "|")
    for p in problems:
        cells = {s["method"]: s for s in summary if s["problem"] == p}
        lines.append(f"| {p} | " + " | ".join(f"{cells[m]['median_seconds']:.2f}" for m in methods) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="rastrigin,ackley,rosenbrock,digits")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=2000, help="evaluations per run on the 30-D functions")
    ap.add_argument("--digits-budget", type=int, default=400, help="evaluations per run on digits")
    ap.add_argument("--dim", type=int, default=30)
    ap.add_argument("--out", default="runs/qimad-quality")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    problems, methods = args.problems.split(","), args.methods.split(",")
    budgets = {p: args.digits_budget if p == "digits" else args.budget for p in problems}
    rows, t0 = [], time.perf_counter()
    for p in problems:
        for seed in range(args.seeds):
            problem = make_problem(p, seed, dim=args.dim)
            for m in methods:
                rows.append(run_method(problem, m, budgets[p], seed))
            print(f"{p} seed {seed}: " + ", ".join(f"{r['method']} {r['final_loss']:.4g}"
                                                   for r in rows[-len(methods):]), flush=True)
    summary = summarise(rows)
    _write_csv(out / "runs.csv", rows)
    _write_csv(out / "summary.csv", summary)
    md = table(summary, budgets)
    (out / "table.md").write_text(md)
    print(md)
    print(headline(summary))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
