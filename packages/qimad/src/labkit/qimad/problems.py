"""Benchmark problems for comparing optimizers: 30-D test functions and a small digits classifier.

Every problem evaluates a batch of points at once (``loss(x)`` with x of shape (..., dim)), so
population methods (PSO, CMA-ES, QIMAD's batched path) spend one call per generation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

FUNCTIONS = ("rastrigin", "ackley", "rosenbrock")
PROBLEMS = (*FUNCTIONS, "digits")


def rastrigin(x: torch.Tensor) -> torch.Tensor:
    """Rastrigin: 10 d + sum(x^2 - 10 cos 2 pi x); global minimum 0 at the origin.

    >>> float(rastrigin(torch.zeros(30)))
    0.0
    """
    return 10 * x.shape[-1] + (x * x - 10 * torch.cos(2 * math.pi * x)).sum(dim=-1)


def ackley(x: torch.Tensor) -> torch.Tensor:
    """Ackley: -20 exp(-0.2 sqrt(mean x^2)) - exp(mean cos 2 pi x) + 20 + e; minimum 0 at the origin.

    >>> abs(float(ackley(torch.zeros(30)))) < 1e-6
    True
    """
    r = torch.sqrt((x * x).mean(dim=-1) + 1e-30)  # the tiny shift keeps the gradient finite at the origin
    return -20 * torch.exp(-0.2 * r) - torch.exp(torch.cos(2 * math.pi * x).mean(dim=-1)) + 20 + math.e


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """Rosenbrock: sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at all ones.

    >>> float(rosenbrock(torch.ones(30)))
    0.0
    """
    return (100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2).sum(dim=-1)


_DOMAINS = {"rastrigin": 5.12, "ackley": 32.768, "rosenbrock": 2.048}
_FNS = {"rastrigin": rastrigin, "ackley": ackley, "rosenbrock": rosenbrock}


@dataclass
class Problem:
    """A minimisation problem: batched loss over flat points, a seeded start point, a search box."""

    name: str
    dim: int
    loss: Callable[[torch.Tensor], torch.Tensor]  # (..., dim) -> (...)
    x0: torch.Tensor  # (dim,) start point shared by every method for this seed
    half_width: float  # search box [x0 - hw, x0 + hw] for the gradient-free methods' initial spread
    lr: float  # step size given to every gradient method (not tuned per method)
    score: Callable[[torch.Tensor], dict[str, float]] | None = None  # extra metrics of a final point


def make_function(name: str, dim: int, seed: int) -> Problem:
    """A test function with a start point drawn uniformly from its usual domain.

    >>> p = make_function("rastrigin", 30, seed=0); p.x0.shape
    torch.Size([30])
    """
    if name not in _FNS:
        raise ValueError(f"problem: unknown {name!r}; allowed: {', '.join(PROBLEMS)}")
    half = _DOMAINS[name]
    g = torch.Generator().manual_seed(seed)
    x0 = (torch.rand(dim, generator=g, dtype=torch.float64) * 2 - 1) * half
    lr = {"rastrigin": 0.05, "ackley": 0.5, "rosenbrock": 0.01}[name]
    # the box is centred on the origin for the test functions (their usual domain), not on x0
    return Problem(name, dim, _FNS[name], x0, half, lr)


def make_digits(seed: int, hidden: int = 32) -> Problem:
    """A 64-hidden-10 tanh MLP on scikit-learn's digits (70/30 split): loss = full-batch cross-entropy.

    The flat point is the MLP's parameter vector; ``score`` reports test accuracy. Needs scikit-learn.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("problem 'digits' needs scikit-learn: pip install scikit-learn") from exc
    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16.0  # float32, as networks are trained
    y = torch.tensor(data.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_train = int(0.7 * len(y))
    tr, te = perm[:n_train], perm[n_train:]
    mean, std = x[tr].mean(0), x[tr].std(0) + 1e-6
    x = (x - mean) / std
    sizes = [(hidden, 64), (hidden,), (10, hidden), (10,)]
    numels = [math.prod(s) for s in sizes]
    g = torch.Generator().manual_seed(seed + 1)
    # PyTorch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    fan_in = (64, 64, hidden, hidden)
    x0 = torch.cat([(torch.rand(n, generator=g, dtype=torch.float32) * 2 - 1) / math.sqrt(f)
                    for n, f in zip(numels, fan_in, strict=True)])

    def unpack(w: torch.Tensor) -> list[torch.Tensor]:
        parts, off = [], 0
        for n, s in zip(numels, sizes, strict=True):
            parts.append(w[..., off:off + n].reshape(*w.shape[:-1], *s))
            off += n
        return parts

    def logits(w: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        w1, b1, w2, b2 = unpack(w)
        h = torch.tanh(torch.einsum("...hi,ni->...nh", w1, xs) + b1.unsqueeze(-2))
        return torch.einsum("...oh,...nh->...no", w2, h) + b2.unsqueeze(-2)

    def loss(w: torch.Tensor) -> torch.Tensor:
        out = logits(w, x[tr])
        logp = torch.log_softmax(out, dim=-1)
        return -logp.gather(-1, y[tr].expand(*out.shape[:-1]).unsqueeze(-1)).squeeze(-1).mean(dim=-1)

    def score(w: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            acc = (logits(w, x[te]).argmax(-1) == y[te]).double().mean()
        return {"test_accuracy": float(acc)}

    return Problem("digits", int(sum(numels)), loss, x0, 0.1, 0.01, score)


def make_problem(name: str, seed: int, dim: int = 30) -> Problem:
    """Build a problem by name (one of ``PROBLEMS``)."""
    if name == "digits":
        return make_digits(seed)
    return make_function(name, dim, seed)
