"""Body of the ``qimad:compare`` experiment: resumable sweep over (problem, seed), CSV, figures, curves artifact."""

from __future__ import annotations

import importlib.util
import math
from typing import Any

from labkit.core import LabkitError, RunContext
from labkit.qimad.experiments import CompareConfig


def run_compare(ctx: RunContext[CompareConfig]) -> dict[str, Any]:
    """Run every method on every (problem, seed) item through ``ctx.loop``; summarise, plot, save the curves."""
    import numpy as np

    from labkit.core import Tracked
    from labkit.qimad._curves import CurveRecorder, Curves
    from labkit.qimad.problems import make_problem
    from labkit.qimad.study import headline, run_method, summarise

    cfg = ctx.config
    skipped = set(ctx.skipped_baselines)  # optional dependency absent: the runner logged it already
    problems = [p for p in cfg.problems if p not in skipped]
    methods = [m for m in cfg.methods if m not in skipped]
    if not problems or not methods:
        raise LabkitError("nothing left to compare: the chosen problems/methods all need optional dependencies "
                          "that are not installed (pip install 'labkit-qimad[compare]')")
    items = [(p, s) for p in problems for s in range(cfg.seeds)]
    rows: list[dict[str, Any]] = []
    curves: dict[str, np.ndarray] = {}  # "problem.method.seed" -> best loss seen on the problem's grid

    def put_curves(saved: dict[str, np.ndarray]) -> None:
        curves.clear()
        curves.update(saved)

    track = {"rows": Tracked(lambda: list(rows), lambda saved: rows.__setitem__(slice(None), saved)),
             "curves": Tracked(lambda: dict(curves), put_curves)}
    for i in ctx.loop(len(items), track=track, name="compare", desc="problem x seed"):
        problem_name, s = items[i]
        seed = ctx.seed * 1000 + s
        problem = make_problem(problem_name, seed, dim=cfg.dim)
        budget = cfg.digits_budget if problem_name == "digits" else cfg.budget
        for method in methods:
            recorder = CurveRecorder(budget)
            row = run_method(problem, method, budget, seed, num_agents=cfg.num_agents, curve=recorder)
            row["budget"] = budget
            rows.append(row)
            curves[f"{problem_name}.{method}.{seed}"] = recorder.on_grid()
        ctx.log.info("%s seed %d: %s", problem_name, seed,
                     ", ".join(f"{r['method']} {r['final_loss']:.4g}" for r in rows[-len(methods):]))
    grids = {p: CurveRecorder(cfg.digits_budget if p == "digits" else cfg.budget).grid for p in problems}
    study = Curves(grids, {(p, m, int(sd)): c for key, c in curves.items() for p, m, sd in [key.rsplit(".", 2)]},
                   methods)
    ctx.write_csv("runs", rows)
    summary = summarise(rows)
    for entry in summary:
        entry["median_best_seen"] = study.median_final(entry["problem"], entry["method"])
    ctx.write_csv("summary", summary)
    if importlib.util.find_spec("matplotlib") is None:  # labkit-qimad alone does not require it
        ctx.log.warning("no figures: matplotlib is not installed (pip install 'labkit-qimad[compare]')")
    else:
        _figure(ctx, summary)
        ctx.save_figure(study.figure(), "curves")
    ctx.save_artifact("curves", study, factory="compare-curves", kind="dataset", config=study.config(),
                      description=f"best loss seen vs evaluations: {len(curves)} runs of {', '.join(methods)} "
                                  f"on {', '.join(problems)}")
    return {"headline": headline(summary), "summary": summary, "runs": len(rows),
            "note": "final loss (lower is better) at equal loss/gradient-evaluation budgets; "
                    "digits: full-batch training cross-entropy, test accuracy in summary; "
                    "median_best_seen: best loss evaluated during the search (artifact 'curves')"}


def _figure(ctx: RunContext[CompareConfig], summary: list[dict[str, Any]]) -> None:
    import matplotlib.pyplot as plt

    problems = list(dict.fromkeys(s["problem"] for s in summary))
    fig, axes = plt.subplots(1, len(problems), figsize=(3.2 * len(problems), 3.2), squeeze=False)
    for ax, p in zip(axes[0], problems, strict=True):
        rows = [s for s in summary if s["problem"] == p]
        med = [max(s["median"], 1e-12) for s in rows]
        lo = [m - max(s["q1"], 1e-12) for m, s in zip(med, rows, strict=True)]
        hi = [max(s["q3"], 1e-12) - m for m, s in zip(med, rows, strict=True)]
        colors = ["tab:red" if s["method"] == "qimad" else "tab:gray" for s in rows]
        ax.bar(range(len(rows)), med, yerr=[lo, hi], color=colors, capsize=3)
        ax.set_xticks(range(len(rows)), [s["method"] for s in rows], rotation=45)
        if all(m > 0 for m in med) and max(med) / min(med) > 30:
            ax.set_yscale("log")
        ax.set_title(f"{p} (n={rows[0]['n']})")
        ax.set_ylabel("final loss (median, IQR)" if ax is axes[0][0] else "")
    fig.tight_layout()
    ctx.save_figure(fig, "compare")
    assert all(math.isfinite(s["median"]) for s in summary)
