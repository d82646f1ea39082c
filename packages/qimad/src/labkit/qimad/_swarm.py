"""Swarm geometry for QIMAD: neighbour graphs, Bloch-state fidelities and cooling schedules.

Everything here is a pure function of its arguments (plus an explicit generator), so the
optimizer's state can be rebuilt from a state_dict without replaying history.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

TOPOLOGIES = ("complete", "ring", "grid", "random")
COOLINGS = ("cosine", "linear", "exponential", "none")


def neighbour_graph(
    topology: str, num_agents: int, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """Return the symmetric boolean adjacency (num_agents, num_agents) of a topology, no self loops.

    ``grid`` lays agents row-major on a floor(sqrt(n)) x ceil(n/rows) lattice with 4-neighbours;
    ``random`` links every agent to min(2, n-1) distinct random others, then symmetrises, so
    every agent has a neighbour whenever n >= 2.

    >>> g = torch.Generator().manual_seed(0)
    >>> neighbour_graph("ring", 4, g, torch.device("cpu")).sum(1).tolist()
    [2, 2, 2, 2]
    """
    n = num_agents
    adj = torch.zeros(n, n, dtype=torch.bool)
    if n == 1:
        return adj.to(device)
    if topology == "complete":
        adj[:] = True
    elif topology == "ring":
        i = torch.arange(n)
        adj[i, (i + 1) % n] = True
        adj[i, (i - 1) % n] = True
    elif topology == "grid":
        rows = max(1, math.isqrt(n))
        cols = math.ceil(n / rows)
        for a in range(n):
            r, c = divmod(a, cols)
            for rr, cc in ((r + 1, c), (r, c + 1)):
                b = rr * cols + cc
                if rr < rows and cc < cols and b < n:
                    adj[a, b] = adj[b, a] = True
    elif topology == "random":
        # drawn on the CPU from a CPU generator seeded from the swarm generator: the graph is
        # then the same whichever device the agents live on
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
        g = torch.Generator().manual_seed(seed)
        m = min(2, n - 1)
        for a in range(n):
            others = torch.tensor([b for b in range(n) if b != a])
            pick = others[torch.randperm(n - 1, generator=g)[:m]]
            adj[a, pick] = True
        adj = adj | adj.T
    else:  # pragma: no cover - validated by the optimizer
        raise ValueError(f"topology: unknown {topology!r}; allowed: {', '.join(TOPOLOGIES)}")
    adj.fill_diagonal_(False)
    return adj.to(device)


def neighbour_lists(adjacency: torch.Tensor) -> list[list[int]]:
    """Each agent's neighbours, in increasing order, from a boolean adjacency matrix."""
    return [row.nonzero().flatten().tolist() for row in adjacency.bool().cpu()]


def fidelity_rows(
    alpha: list[float], beta: list[float], neighbours: list[list[int]], k: float, rows: Iterable[int]
) -> list[list[float]]:
    """Rows ``rows`` of the consensus weights w_ij = |<psi_i|psi_j>|^k, normalised over i's neighbours.

    |psi> = cos(alpha/2)|0> + e^{i beta} sin(alpha/2)|1> has Bloch vector
    n = (sin alpha cos beta, sin alpha sin beta, cos alpha), and |<psi_i|psi_j>|^2 = (1 + n_i . n_j) / 2.
    Plain Python floats: for a swarm's handful of agents this beats launching a dozen tiny kernels.
    A row whose neighbours all have zero overlap stays zero (no consensus pull for that agent).

    >>> fidelity_rows([0.0, 0.0], [0.0, 0.0], [[1], [0]], 2.0, [0, 1])
    [[0.0, 1.0], [1.0, 0.0]]
    """
    sin, cos = math.sin, math.cos
    bloch = [(sin(a) * cos(b), sin(a) * sin(b), cos(a)) for a, b in zip(alpha, beta, strict=True)]
    half_k, n = k / 2, len(alpha)
    out = []
    for i in rows:
        xi, yi, zi = bloch[i]
        row = [0.0] * n
        total = 0.0
        for j in neighbours[i]:
            xj, yj, zj = bloch[j]
            f = 0.5 + 0.5 * (xi * xj + yi * yj + zi * zj)  # |<psi_i|psi_j>|^2, in [0, 1] up to rounding
            f = 0.0 if f < 0.0 else (1.0 if f > 1.0 else f)
            if half_k != 1.0:
                f **= half_k
            row[j] = f
            total += f
        if total > 0:
            inv = 1.0 / total
            row = [w * inv for w in row]
        out.append(row)
    return out


def mixing_matrix(
    weights: list[list[float]], rows: list[int], pull: list[float], gamma: float
) -> list[float]:
    """The (len(rows), n + 1) matrix M, flattened row-major, with M @ [agents; best] giving each move.

    Row r of M applied to the stacked agents and the global best is
    ``pull[r] (best - theta_i) + gamma sum_j w_ij (theta_j - theta_i)`` for agent ``i = rows[r]``,
    with ``weights[r]`` the fidelity row of agent i (see :func:`fidelity_rows`).

    >>> mixing_matrix([[0.0, 1.0]], [0], [0.5], 0.1)
    [-0.6, 0.1, 0.5]
    """
    flat: list[float] = []
    for i, p, w_i in zip(rows, pull, weights, strict=True):
        start = len(flat)
        flat += [gamma * w for w in w_i]
        flat[start + i] -= p + gamma * sum(w_i)
        flat.append(p)
    return flat


def fidelity_weights(
    alpha: torch.Tensor, beta: torch.Tensor, adjacency: torch.Tensor, k: float
) -> torch.Tensor:
    """The full (n, n) matrix of :func:`fidelity_rows` for angle tensors and a boolean adjacency.

    >>> a = torch.tensor([0.0, 0.0]); b = torch.zeros(2)
    >>> fidelity_weights(a, b, ~torch.eye(2, dtype=torch.bool), 2.0).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    n = alpha.numel()
    rows = fidelity_rows(alpha.tolist(), beta.tolist(), neighbour_lists(adjacency), k, range(n))
    return torch.tensor(rows, dtype=alpha.dtype, device=alpha.device).reshape(n, n)


def gaussians(uniforms: list[float]) -> list[float]:
    """Standard normal deviates from pairs of U[0, 1) numbers (Box–Muller; an even count in, as many out).

    >>> [round(z, 6) for z in gaussians([0.5, 0.25])]
    [0.0, 1.17741]
    """
    out = []
    for u1, u2 in zip(uniforms[0::2], uniforms[1::2], strict=True):
        radius = math.sqrt(-2.0 * math.log1p(-u1))  # 1 - u1 lies in (0, 1]
        out += [radius * math.cos(2 * math.pi * u2), radius * math.sin(2 * math.pi * u2)]
    return out


def temperature(cooling: str, step: int, total_steps: int | None, min_temp: float) -> float:
    """Cooling temperature T at a completed-step count, from 1 down to ``min_temp`` over ``total_steps``.

    With ``cooling='none'`` or no ``total_steps`` the temperature stays 1 (no horizon to cool over).

    >>> temperature("linear", 5, 10, 0.0)
    0.5
    >>> round(temperature("cosine", 10, 10, 0.05), 12)
    0.05
    """
    if cooling == "none" or total_steps is None:
        return 1.0
    frac = min(step, total_steps) / total_steps
    if cooling == "cosine":
        return min_temp + (1.0 - min_temp) * 0.5 * (1.0 + math.cos(math.pi * frac))
    if cooling == "linear":
        return 1.0 - (1.0 - min_temp) * frac
    if cooling == "exponential":
        return float(min_temp**frac)
    raise ValueError(f"cooling: unknown {cooling!r}; allowed: {', '.join(COOLINGS)} or None")
