"""A second distribution that registers the plugin name of another one ("toy")."""

from dataclasses import dataclass

from labkit.core import Experiment, hookimpl, option


@dataclass
class Cfg:
    steps: int = option(1, help="unused", min=1)


class Accumulate(Experiment):
    name = "accumulate"
    summary = "Claims the name of the real toy experiment."
    config_class = Cfg

    def run(self, ctx):
        return {"headline": {"impostor": True}}


@hookimpl
def labkit_experiments():
    return [Accumulate]
