"""Best-loss-so-far curves of the ``compare`` study: recorded per run, saved as an artifact, re-plotted.

:class:`CurveRecorder` wraps a problem's batched loss and counts evaluations (one per point, so a
swarm's batched call counts its agents); :class:`Curves` holds every (problem, method, seed) curve
on a fixed evaluation grid, its medians, and the figure. Used inside the labkit plugin only
(numpy; matplotlib when plotted), never by ``import labkit.qimad``.

Example:
    >>> import numpy as np
    >>> rec = CurveRecorder(budget=4, points=4)
    >>> for v in ([5.0, 3.0], [4.0], [1.0]):
    ...     _ = rec(np.asarray(v))
    >>> rec.on_grid().tolist()
    [nan, 3.0, 3.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["CurveRecorder", "Curves", "curves_factory", "evaluation_grid"]


def evaluation_grid(budget: int, points: int = 64) -> np.ndarray:
    """``points`` evaluation counts from 1 to ``budget`` (fewer if the budget is small), as int64.

    Example:
        >>> evaluation_grid(10, 4).tolist()
        [1, 4, 7, 10]
    """
    return np.unique(np.round(np.linspace(1, budget, min(points, budget))).astype(np.int64))


class CurveRecorder:
    """Records the values a loss returns: cumulative evaluations (one per point) and the best finite value seen.

    Call it on each batch of loss values (it returns them unchanged), e.g. around ``problem.loss``.
    """

    def __init__(self, budget: int, points: int = 64) -> None:
        self.grid = evaluation_grid(budget, points)
        self._evals: list[int] = []
        self._best: list[float] = []

    def __call__(self, value: Any) -> Any:
        flat = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=np.float64).reshape(-1)
        finite = flat[np.isfinite(flat)]
        seen = float(finite.min()) if finite.size else math.inf
        self._evals.append((self._evals[-1] if self._evals else 0) + flat.size)
        self._best.append(min(seen, self._best[-1]) if self._best else seen)
        return value

    def on_grid(self) -> np.ndarray:
        """Best value seen within each grid count of evaluations (NaN until the first batch has finished)."""
        at = np.searchsorted(np.asarray(self._evals), self.grid, side="right") - 1
        best = np.asarray([*self._best, math.nan])  # index -1 (nothing finished yet) reads the appended NaN
        return best[at].astype(np.float64)


class Curves:
    """Every (problem, method, seed) best-loss curve of a ``compare`` run, on per-problem evaluation grids."""

    def __init__(self, grids: Mapping[str, np.ndarray], curves: Mapping[tuple[str, str, int], np.ndarray],
                 methods: Sequence[str]) -> None:
        self.grids = {p: np.asarray(g) for p, g in grids.items()}
        self.curves = {k: np.asarray(v) for k, v in curves.items()}
        self.methods = list(methods)

    @property
    def problems(self) -> list[str]:
        """Problems, in the run's order."""
        return list(self.grids)

    def seeds(self, problem: str, method: str) -> list[int]:
        """The seeds recorded for (problem, method)."""
        return sorted(s for p, m, s in self.curves if p == problem and m == method)

    def curve(self, problem: str, method: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(evaluations, best loss seen) of one run."""
        return self.grids[problem], self.curves[(problem, method, seed)]

    def quantiles(self, problem: str, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per grid point: first quartile, median, third quartile over seeds (NaN before a first batch ends)."""
        stack = np.stack([self.curves[(problem, method, s)] for s in self.seeds(problem, method)])
        q1, med, q3 = np.quantile(stack, [0.25, 0.5, 0.75], axis=0)
        return q1, med, q3

    def median_final(self, problem: str, method: str) -> float:
        """Median over seeds of the best loss seen within the whole budget."""
        return float(np.median([self.curves[(problem, method, s)][-1] for s in self.seeds(problem, method)]))

    def figure(self) -> Any:
        """Median best loss vs evaluations with the interquartile band, one panel per problem."""
        import matplotlib.pyplot as plt

        problems = self.problems
        fig, axes = plt.subplots(1, len(problems), figsize=(3.4 * len(problems), 3.2), squeeze=False)
        for ax, problem in zip(axes[0], problems, strict=True):
            grid = self.grids[problem]
            for method in self.methods:
                if not self.seeds(problem, method):
                    continue
                q1, med, q3 = self.quantiles(problem, method)
                line = ax.plot(grid, med, label=method, lw=2 if method == "qimad" else 1)[0]
                ax.fill_between(grid, q1, q3, color=line.get_color(), alpha=0.2, lw=0)
            finite = [v for k, c in self.curves.items() if k[0] == problem for v in c if np.isfinite(v)]
            if finite and min(finite) > 0 and max(finite) / min(finite) > 30:
                ax.set_yscale("log")
            ax.set_title(problem)
            ax.set_xlabel("loss/gradient evaluations")
        axes[0][0].set_ylabel("best loss seen (median, IQR)")
        axes[0][-1].legend(fontsize=7)
        fig.tight_layout()
        return fig

    def config(self) -> dict[str, Any]:
        """The artifact's JSON config: problems, methods, and each run's tensor name."""
        return {"problems": self.problems, "methods": self.methods,
                "runs": [[p, m, s] for (p, m, s) in self.curves]}

    def state_dict(self) -> dict[str, np.ndarray]:
        """The artifact's arrays: ``grid.<problem>`` and ``best.<problem>.<method>.<seed>``."""
        out = {f"grid.{p}": g for p, g in self.grids.items()}
        out.update({f"best.{p}.{m}.{s}": c for (p, m, s), c in self.curves.items()})
        return out


def curves_factory(config: Mapping[str, Any], tensors: Mapping[str, Any]) -> Curves:
    """Rebuild the ``curves`` artifact of ``qimad:compare`` (labkit's ``factory(config, tensors)``)."""
    grids = {p: np.asarray(tensors[f"grid.{p}"]) for p in config["problems"]}
    curves = {(p, m, int(s)): np.asarray(tensors[f"best.{p}.{m}.{s}"]) for p, m, s in config["runs"]}
    return Curves(grids, curves, config["methods"])
