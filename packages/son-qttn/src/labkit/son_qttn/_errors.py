"""Input checks that raise clear errors naming the argument and what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``.

    Example:
        >>> check_choice("topology", "ring", ("ring", "torus"))
    """
    if value not in allowed:
        raise ValueError(f"{name}: got {value!r}, allowed: {', '.join(map(repr, allowed))}")


def check_positive(name: str, value: float, *, strict: bool = True) -> None:
    """Raise ``ValueError`` unless ``value`` is > 0 (or >= 0 when not strict).

    Example:
        >>> check_positive("tol", 1e-6)
    """
    ok = value > 0 if strict else value >= 0
    if not ok or value != value:  # value != value catches NaN
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name}: must be {bound}, got {value!r}")


def check_int_at_least(name: str, value: Any, low: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer >= ``low``.

    Example:
        >>> check_int_at_least("max_rank", 4, 1)
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")
