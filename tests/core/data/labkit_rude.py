"""A plugin that breaks every conformance rule, to show the suite catches each one."""

from dataclasses import dataclass

import torch  # noqa: F401  (heavy at plugin import)

import labkit.g2_pinn  # noqa: F401  (a plugin importing another plugin)
from labkit.core import Experiment, hookimpl, option

__all__ = ["not_defined_anywhere"]  # noqa: F822  (an export that does not resolve)


@dataclass
class Cfg:
    steps: int = option(3, help="steps", min=1)


class Bad(Experiment):
    name = "bad"
    summary = "Breaks the rules."
    config_class = Cfg
    flagship = True
    presets = {"big": {"steps": 0}}

    def run(self, ctx):
        return {}


@hookimpl
def labkit_experiments():
    return [Bad]


@hookimpl
def labkit_models():
    return {"ghost": "labkit_rude:missing"}
