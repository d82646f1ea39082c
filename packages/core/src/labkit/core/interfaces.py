"""Framework-neutral protocols that every domain implements (torch or JAX alike)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol, runtime_checkable


@runtime_checkable
class Simulator(Protocol):
    """Produces ground truth from parameters.

    Example:
        >>> class Square:
        ...     def simulate(self, params):
        ...         return params ** 2
        >>> isinstance(Square(), Simulator)
        True
    """

    def simulate(self, params: Any) -> Any:
        """Return the simulated result for ``params``."""
        ...


@runtime_checkable
class Model(Protocol):
    """A learnable map whose whole state round-trips through a state dict.

    ``torch.nn.Module`` satisfies it; a JAX model exposes its pytree the same way.
    """

    def state_dict(self) -> Mapping[str, Any]:
        """Return everything needed to rebuild the model's state."""
        ...

    def load_state_dict(self, state_dict: Mapping[str, Any], /) -> Any:
        """Restore the state returned by :meth:`state_dict`."""
        ...


class LossResult(NamedTuple):
    """A loss value and the named components it is the weighted sum of."""

    total: Any
    components: dict[str, Any]


@runtime_checkable
class Loss(Protocol):
    """``loss(pred, target, **context) -> LossResult``: every loss is a sum of named parts."""

    def __call__(self, pred: Any, target: Any, /, **context: Any) -> LossResult:
        """Return the total loss and its components."""
        ...


def combine_losses(terms: Mapping[str, Any], weights: Mapping[str, float] | None = None) -> LossResult:
    """Weighted sum of named loss terms (any array type with ``*`` and ``+``).

    Components are the unweighted terms, so logs stay comparable when weights change.
    A weight for a term that does not exist is an error (it is almost always a typo).

    Example:
        >>> combine_losses({"mse": 2.0, "nll": 4.0}, weights={"nll": 0.5}).total
        4.0
    """
    if not terms:
        raise ValueError("combine_losses: 'terms' must hold at least one named term")
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(terms))
    if unknown:
        raise ValueError(f"combine_losses: weights for unknown terms {unknown}; terms are {sorted(terms)}")
    total: Any = None
    for name, value in terms.items():
        weighted = value * weights[name] if name in weights else value
        total = weighted if total is None else total + weighted
    return LossResult(total, dict(terms))
