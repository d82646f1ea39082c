"""Reference optimizers for the comparison: gradient descent (Adam/RMSprop), a particle swarm, CMA-ES.

All of them minimise a batched ``loss(x)`` over flat points within a fixed number of loss
evaluations (a gradient evaluation and a function evaluation each count as one), and return the
best point found.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Loss = Callable[[torch.Tensor], torch.Tensor]


def gradient_descent(loss: Loss, x0: torch.Tensor, budget: int, method: str, lr: float) -> torch.Tensor:
    """``budget`` steps of torch Adam or RMSprop (alpha 0.99, eps 1e-8) from ``x0``; returns the best iterate.

    >>> from labkit.qimad.problems import rastrigin
    >>> x = gradient_descent(rastrigin, torch.full((3,), 0.1, dtype=torch.float64), 50, "adam", 0.01)
    >>> float(rastrigin(x)) < float(rastrigin(torch.full((3,), 0.1)))
    True
    """
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr) if method == "adam" else torch.optim.RMSprop([x], lr=lr, alpha=0.99, eps=1e-8)
    best, best_x = math.inf, x0.clone()
    for _ in range(budget):
        opt.zero_grad()
        value = loss(x)
        value.backward()
        v = float(value.detach())
        if math.isfinite(v) and v < best:  # the point just evaluated (before the step)
            best, best_x = v, x.detach().clone()
        opt.step()
    return best_x


def particle_swarm(loss: Loss, x0: torch.Tensor, half_width: float, budget: int, seed: int,
                   swarm: int = 20, centre: torch.Tensor | None = None) -> torch.Tensor:
    """Global-best PSO with constriction coefficients (Clerc and Kennedy 2002: w 0.7298, c1 = c2 1.49618).

    Particles start uniformly in ``centre +- half_width`` (centre defaults to x0, and x0 itself is one
    particle); velocities are clamped to the box width.

    >>> from labkit.qimad.problems import rastrigin
    >>> x = particle_swarm(rastrigin, torch.zeros(2, dtype=torch.float64) + 1.0, 1.0, 400, seed=0)
    >>> float(rastrigin(x)) <= float(rastrigin(torch.ones(2)))
    True
    """
    g = torch.Generator().manual_seed(seed)
    dim, dt = x0.shape[0], x0.dtype
    c = x0 if centre is None else centre
    pos = c + (torch.rand(swarm, dim, generator=g, dtype=dt) * 2 - 1) * half_width
    pos[0] = x0
    vel = torch.zeros_like(pos)
    vmax = 2 * half_width
    with torch.no_grad():
        val = loss(pos)
    val = torch.where(torch.isfinite(val), val, torch.full_like(val, math.inf))
    pbest, pval = pos.clone(), val.clone()
    used = swarm
    while used + swarm <= budget:
        gbest = pbest[pval.argmin()]
        r1, r2 = torch.rand(2, swarm, dim, generator=g, dtype=dt)
        vel = 0.7298 * vel + 1.49618 * r1 * (pbest - pos) + 1.49618 * r2 * (gbest - pos)
        vel = vel.clamp(-vmax, vmax)
        pos = pos + vel
        with torch.no_grad():
            val = loss(pos)
        val = torch.where(torch.isfinite(val), val, torch.full_like(val, math.inf))
        better = val < pval
        pbest[better], pval[better] = pos[better], val[better]
        used += swarm
    return pbest[pval.argmin()].clone()


def cma_es(loss: Loss, x0: torch.Tensor, sigma0: float, budget: int, seed: int,
           diagonal: bool = False) -> torch.Tensor:
    """pycma's CMA-ES from x0 with IPOP restarts (population doubled) until ``budget`` evaluations are spent.

    ``diagonal=True`` runs sep-CMA (diagonal covariance), for thousands of dimensions. Needs ``cma``.
    """
    try:
        import cma
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("method 'cmaes' needs pycma: pip install cma") from exc
    import numpy as np

    best, best_x, used, popsize, restart = math.inf, x0.clone(), 0, None, 0
    while budget - used >= 4:
        opts = {"seed": seed * 1000 + restart + 1, "verbose": -9, "maxfevals": budget - used,
                "CMA_diagonal": diagonal}
        if popsize is not None:
            opts["popsize"] = popsize
        start = x0.numpy() if restart == 0 else best_x.numpy()
        es = cma.CMAEvolutionStrategy(start, sigma0, opts)
        while not es.stop() and budget - used >= es.popsize:
            pts = es.ask()
            with torch.no_grad():
                vals = loss(torch.tensor(np.asarray(pts), dtype=x0.dtype)).numpy()
            vals = np.where(np.isfinite(vals), vals, np.inf)
            used += len(pts)
            es.tell(pts, vals.tolist())
            i = int(np.argmin(vals))
            if vals[i] < best:
                best, best_x = float(vals[i]), torch.tensor(pts[i], dtype=x0.dtype)
        if budget - used < es.popsize:
            break
        popsize, restart = 2 * es.popsize, restart + 1
    return best_x
