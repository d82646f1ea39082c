# mylab/plugin.py, registered in pyproject.toml as
# [project.entry-points.labkit]  mylab = "mylab.plugin"
from dataclasses import dataclass

import numpy as np

from labkit.core import Experiment, RunContext, Tracked, hookimpl, option


@dataclass
class FitConfig:
    degree: int = option(1, help="polynomial degree", min=0, max=5)
    steps: int = option(500, help="gradient steps", min=1)
    lr: float = option(0.3, help="step size", min=0.0, min_inclusive=False)


class Poly:
    """What the fit learns; rebuilt from its artifact by ``poly_factory``."""

    def __init__(self, coef: np.ndarray) -> None:
        self.coef = coef

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.polynomial.polynomial.polyval(x, self.coef)


def poly_factory(config: dict, tensors: dict) -> Poly:
    """The rebuild contract: factory(config, tensors) -> object."""
    assert tensors["coef"].shape == (config["degree"] + 1,)
    return Poly(tensors["coef"])


class FitExperiment(Experiment[FitConfig]):
    name, summary, config_class, flagship = "fit", "Fits a polynomial, resumably.", FitConfig, True
    presets = {"quick": {"steps": 100}}

    def run(self, ctx: RunContext[FitConfig]) -> dict:
        cfg = ctx.config
        rng = np.random.default_rng(ctx.seed)
        x = rng.uniform(-1, 1, 200)
        y = np.sin(2 * x) + 0.1 * rng.standard_normal(200)
        basis = np.vander(x, cfg.degree + 1, increasing=True)
        w = {"coef": np.zeros(cfg.degree + 1)}
        param = Tracked(get=lambda: w["coef"], set=lambda v: w.update(coef=v))
        for _ in ctx.loop(cfg.steps, track={"coef": param}, checkpoint_every=50):
            w["coef"] = w["coef"] - cfg.lr * 2 * basis.T @ (basis @ w["coef"] - y) / len(x)
        ctx.save_artifact("poly", {"coef": w["coef"]}, factory="poly", kind="model",
                          config={"degree": cfg.degree}, description=f"degree-{cfg.degree} fit of sin(2x)")
        mse = float(np.mean((basis @ w["coef"] - y) ** 2))
        return {"headline": {"mse": mse, "at_0.5": float(Poly(w["coef"]).predict(0.5))}}


@hookimpl
def labkit_experiments():
    return [FitExperiment]


@hookimpl
def labkit_models():
    return {"poly": poly_factory}  # in a real plugin: "mylab.model:poly_factory" (imported on use)
