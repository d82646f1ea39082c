"""Run QIMAD and its baselines on a problem at an equal loss/gradient-evaluation budget; summarise seeds.

Shared by the ``compare`` experiment and ``scripts/quality_study.py``. Torch only, plus ``cma``
(CMA-ES) and scikit-learn (digits) when those methods/problems are asked for.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from labkit.qimad._optimizer import QIMADTorch
from labkit.qimad.baselines import cma_es, gradient_descent, particle_swarm
from labkit.qimad.problems import Problem

METHODS = ("qimad", "adam", "rmsprop", "pso", "cmaes")


def run_qimad(problem: Problem, budget: int, seed: int, num_agents: int = 8,
              curve: Callable[[torch.Tensor], torch.Tensor] | None = None, **kwargs: Any) -> torch.Tensor:
    """QIMAD with every agent evaluated per step (batched path): budget // num_agents steps, cosine cooling.

    The loss runs under ``vmap``, so ``curve`` is given each step's agent losses after the step.
    """
    x = torch.nn.Parameter(problem.x0.clone())
    steps = max(1, budget // num_agents)
    opt = QIMADTorch([x], num_agents=num_agents, eta=problem.lr, seed=seed, total_steps=steps, **kwargs)

    def f(params: list[torch.Tensor]) -> torch.Tensor:
        return problem.loss(params[0])

    for _ in range(steps):
        opt.step_batched(f)
        if curve is not None:
            curve(torch.tensor(opt.get_agent_losses(), dtype=torch.float64))
    return x.detach().clone()


def run_method(problem: Problem, method: str, budget: int, seed: int, num_agents: int = 8,
               curve: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, Any]:
    """Minimise ``problem`` with ``method`` in ``budget`` evaluations; return the final loss, metrics, time.

    ``curve`` (a ``CurveRecorder``) sees every batch of loss values the method evaluates.

    >>> from labkit.qimad.problems import make_problem
    >>> r = run_method(make_problem("rosenbrock", 0, dim=5), "adam", 100, 0)
    >>> sorted(r)
    ['final_loss', 'method', 'problem', 'seconds', 'seed']
    """
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}; allowed: {', '.join(METHODS)}")
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # these problems are tiny: extra threads only add contention
    try:
        return _run(problem, method, budget, seed, num_agents, curve)
    finally:
        torch.set_num_threads(threads)


def _run(problem: Problem, method: str, budget: int, seed: int, num_agents: int,
         curve: Callable[[torch.Tensor], torch.Tensor] | None) -> dict[str, Any]:
    search = problem
    if curve is not None and method != "qimad":  # the search's evaluations are recorded; the final one is not
        search = dataclasses.replace(problem, loss=lambda x: curve(problem.loss(x)))
    t0 = time.perf_counter()
    if method == "qimad":
        x = run_qimad(problem, budget, seed, num_agents, curve=curve)
    elif method in ("adam", "rmsprop"):
        x = gradient_descent(search.loss, problem.x0, budget, method, problem.lr)
    elif method == "pso":
        centre = problem.x0 if problem.name == "digits" else torch.zeros_like(problem.x0)
        x = particle_swarm(search.loss, problem.x0, problem.half_width, budget, seed, centre=centre)
    else:
        sigma0 = problem.half_width / 3 if problem.name != "digits" else problem.half_width
        x = cma_es(search.loss, problem.x0, sigma0, budget, seed, diagonal=problem.dim > 200)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        final = float(problem.loss(x))
    row: dict[str, Any] = {"problem": problem.name, "method": method, "seed": seed,
                           "final_loss": final, "seconds": seconds}
    if problem.score is not None:
        row.update(problem.score(x))
    return row


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    vals = sorted(values)
    if len(vals) == 1:
        return vals[0], vals[0], vals[0]
    q1, med, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    return q1, med, q3


def summarise(rows: list[dict[str, Any]], metric: str = "final_loss") -> list[dict[str, Any]]:
    """Median and IQR of ``metric`` (and of wall time) per (problem, method), in first-seen order.

    >>> summarise([{"problem": "p", "method": "m", "final_loss": v, "seconds": 1.0} for v in (1, 2, 3)])[0]["median"]
    2.0
    """
    keys: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        keys.setdefault((r["problem"], r["method"]), []).append(r)
    out = []
    for (problem, method), group in keys.items():
        vals = [float(r[metric]) for r in group if metric in r and math.isfinite(float(r[metric]))]
        if not vals:
            continue
        q1, med, q3 = _quantiles(vals)
        entry = {"problem": problem, "method": method, "metric": metric, "n": len(vals), "median": med,
                 "q1": q1, "q3": q3, "median_seconds": statistics.median(float(r["seconds"]) for r in group)}
        if "test_accuracy" in group[0]:
            entry["median_test_accuracy"] = statistics.median(float(r["test_accuracy"]) for r in group)
        out.append(entry)
    return out


def headline(summary: list[dict[str, Any]]) -> dict[str, Any]:
    """Per problem: QIMAD's median next to the best baseline's (lower is better), and the win count."""
    head: dict[str, Any] = {}
    wins = 0
    problems = list(dict.fromkeys(s["problem"] for s in summary))
    for p in problems:
        rows = [s for s in summary if s["problem"] == p]
        q = next((s for s in rows if s["method"] == "qimad"), None)
        base = [s for s in rows if s["method"] != "qimad"]
        if q is None or not base:
            continue
        b = min(base, key=lambda s: s["median"])
        head[f"{p} qimad"] = round(q["median"], 6)
        head[f"{p} best baseline ({b['method']})"] = round(b["median"], 6)
        wins += q["median"] < b["median"]
    head["qimad wins"] = f"{wins}/{len(problems)}"
    return head
