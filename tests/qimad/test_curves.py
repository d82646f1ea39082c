"""qimad:compare saves every run's best-loss curve; a fresh process re-plots and re-summarises them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("labkit.core")

SMALL = {"problems": ["rastrigin", "ackley"], "methods": ["qimad", "adam", "pso"], "seeds": 2, "budget": 64, "dim": 5}


def test_curves_reload_in_a_fresh_process_and_give_the_reported_medians(labkit_run, run_readme_example, tmp_path):
    res = labkit_run("qimad:compare", preset=None, overrides=SMALL, out_dir=tmp_path / "runs" / "qimad")
    out = run_readme_example("qimad", tmp_path).strip().splitlines()
    assert len(out) == len(res["summary"]) == 6
    for line, entry in zip(out, res["summary"], strict=True):
        problem, method, loaded, reported = line.split()
        assert (problem, method) == (entry["problem"], entry["method"])
        assert float(reported) == entry["median_best_seen"] and abs(float(loaded) - float(reported)) <= 1e-12
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert (tmp_path / "runs" / "qimad" / "figures" / "curves.png").exists()


def test_curves_are_monotone_reach_the_budget_and_end_at_the_best_point_found(labkit_run, tmp_path):
    from labkit.core import load_run
    from labkit.qimad.problems import make_problem

    res = labkit_run("qimad:compare", preset=None, overrides={**SMALL, "seeds": 1}, out_dir=tmp_path / "q")
    curves = load_run(tmp_path / "q").artifact("curves")
    for problem in SMALL["problems"]:
        for method in SMALL["methods"]:
            evals, best = curves.curve(problem, method, seed=0)
            assert evals[0] == 1 and evals[-1] == 64
            seen = np.isfinite(best)  # NaN only until the method's first batch of evaluations has finished
            assert seen[-1] and np.all(seen[np.argmax(seen):]) and np.all(np.diff(best[seen]) <= 0)
            row = next(r for r in _rows(tmp_path / "q") if r["problem"] == problem and r["method"] == method)
            # gradient descent and PSO return the best point they evaluated: the curve ends at its loss
            if method in ("adam", "pso"):
                assert math.isclose(best[-1], float(row["final_loss"]), rel_tol=1e-12)
            # nothing better than the curve's end was ever evaluated
            assert best[-1] <= float(make_problem(problem, 0, dim=5).loss(make_problem(problem, 0, dim=5).x0))
    assert res["runs"] == 6


def _rows(folder):
    import csv

    with open(folder / "runs.csv") as fh:
        return list(csv.DictReader(fh))


def test_recorder_counts_each_point_of_a_batch():
    from labkit.qimad._curves import CurveRecorder

    rec = CurveRecorder(budget=10, points=10)
    rec(torch.tensor([5.0, 4.0, float("nan")]))  # 3 evaluations, the NaN one not a best
    rec(torch.tensor(6.0))
    rec(torch.tensor([1.0, 7.0]))
    np.testing.assert_array_equal(rec.on_grid(), [math.nan, math.nan, 4.0, 4.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0])
