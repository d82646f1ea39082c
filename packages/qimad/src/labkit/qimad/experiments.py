"""labkit experiments of the QIMAD plugin (light module: torch loads inside ``run``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.core import ConfigError, Experiment, RunContext, option

_PROBLEMS = ("rastrigin", "ackley", "rosenbrock", "digits")
_METHODS = ("qimad", "adam", "rmsprop", "pso", "cmaes")


@dataclass
class CompareConfig:
    """Configuration of ``qimad:compare``."""

    problems: list[str] = option(list(_PROBLEMS), help="problems: rastrigin, ackley, rosenbrock (D-dim), digits")
    methods: list[str] = option(list(_METHODS), help="optimizers to compare (qimad first is conventional)")
    seeds: int = option(10, help="number of seeds per (problem, method)", min=1)
    budget: int = option(4000, help="loss/gradient evaluations per run on the test functions", min=16)
    digits_budget: int = option(800, help="loss/gradient evaluations per run on the digits classifier", min=16)
    dim: int = option(30, help="dimension of the test functions", min=2)
    num_agents: int = option(8, help="QIMAD swarm size", min=1)

    def validate(self) -> None:
        for p in self.problems:
            if p not in _PROBLEMS:
                raise ConfigError("problems", f"unknown {p!r}; allowed: {', '.join(_PROBLEMS)}")
        for m in self.methods:
            if m not in _METHODS:
                raise ConfigError("methods", f"unknown {m!r}; allowed: {', '.join(_METHODS)}")
        if not self.problems or not self.methods:
            raise ConfigError("problems", "need at least one problem and one method")


class CompareExperiment(Experiment[CompareConfig]):
    """QIMAD against Adam, RMSprop, a particle swarm and CMA-ES at equal evaluation budgets; saves every
    run's best-loss curve (artifact ``curves``) for re-plotting."""

    name = "compare"
    summary = ("QIMAD vs Adam/RMSprop/PSO/CMA-ES on 30-D test functions and a digits MLP at equal "
               "evaluation budgets; median and IQR over seeds.")
    config_class = CompareConfig
    presets = {
        "quick": {"problems": ["rastrigin", "ackley", "digits"], "seeds": 3, "budget": 800,
                  "digits_budget": 200},
        "paper": {"seeds": 15, "budget": 8000, "digits_budget": 1600},
    }
    flagship = True
    # dropped (and listed under skipped_baselines) when labkit-qimad is installed without [compare]
    optional_baselines = {"cmaes": "cma", "digits": "sklearn"}

    def run(self, ctx: RunContext[CompareConfig]) -> dict[str, Any]:
        from labkit.qimad._run_compare import run_compare

        return run_compare(ctx)
