"""A toy labkit plugin used by the core tests: a slow, random, resumable accumulation."""

import time
from dataclasses import dataclass

import numpy as np

from labkit.core import ConfigError, Experiment, hookimpl, option


@dataclass
class AccumulateConfig:
    steps: int = option(30, help="number of steps", min=1, max=10_000)
    delay: float = option(0.02, help="seconds slept per step", min=0.0)
    scale: float = option(1.0, help="scale of the random increments", min=0.0, min_inclusive=False)
    mode: str = option("sum", help="how to accumulate", choices=("sum", "max"))
    every: int = option(1, help="checkpoint every k steps", min=1)
    buffer_mb: int = option(0, help="megabytes of scratch memory to hold", min=0)

    def validate(self):
        if self.mode == "max" and self.steps < 2:
            raise ConfigError("steps", "mode 'max' needs at least 2 steps")


class Accumulate(Experiment):
    name = "accumulate"
    summary = "Adds numpy random numbers, one per step, resumably."
    config_class = AccumulateConfig
    presets = {"quick": {"steps": 5, "delay": 0.0}}
    flagship = True
    optional_baselines = {"exact": "labkit_toy_exact"}  # a module this distribution does not ship

    def estimate_memory(self, config):
        return config.buffer_mb * 2**20

    def run(self, ctx):
        cfg = ctx.config
        history = []

        def restore(saved):
            history[:] = saved

        loop = ctx.loop(cfg.steps, state=lambda: list(history), restore=restore, checkpoint_every=cfg.every, name="acc")
        for _ in loop:
            time.sleep(cfg.delay)
            history.append(float(np.random.standard_normal() * cfg.scale))
        total = float(np.sum(history)) if cfg.mode == "sum" else float(np.max(history))
        headline = {"total": total, "steps": len(history)}
        if "exact" not in ctx.skipped_baselines:
            from labkit_toy_exact import exact_total

            headline["exact_total"] = exact_total(history)
        return {"headline": headline, "history": history}


class Fails(Experiment):
    name = "fails"
    summary = "Always raises, to test error handling."
    config_class = AccumulateConfig

    def run(self, ctx):
        raise RuntimeError("deliberate failure")


@hookimpl
def labkit_experiments():
    return [Accumulate, Fails]


@hookimpl
def labkit_simulators():
    return {"square": "labkit_toy:square"}


def square(x):
    return x * x
