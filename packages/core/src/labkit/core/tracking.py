"""What a resumable loop saves and restores: ``state_dict`` objects and get/set pairs, by name.

``ctx.loop(..., track={"model": model, "opt": opt, "w": Tracked(get, put)})`` checkpoints every
:class:`~labkit.core.Model` (anything with ``state_dict``/``load_state_dict``) and get/set pair:
``{"model": model.state_dict(), "opt": opt.state_dict(), "w": get()}`` and on resume calls
``load_state_dict`` / ``put`` with what was saved.

Example:
    >>> import numpy as np
    >>> box = {"w": np.zeros(2)}
    >>> items = {"w": Tracked(lambda: box["w"], lambda v: box.update(w=v))}
    >>> saved = snapshot_tracked(items)
    >>> box["w"] = np.ones(2)
    >>> restore_tracked(items, saved); box["w"].tolist()
    [0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labkit.core._errors import CheckpointError
from labkit.core.interfaces import Model


@dataclass(frozen=True)
class Tracked:
    """A get/set pair for state that cannot load in place (JAX pytrees, numpy arrays, numbers).

    ``get()`` returns the value to checkpoint; ``set(value)`` puts a restored value back.
    """

    get: Callable[[], Any]
    set: Callable[[Any], None]


def _check(name: str, obj: Any) -> None:
    if not isinstance(obj, (Tracked, Model)):
        raise TypeError(f"track[{name!r}]: a {type(obj).__name__} has no state_dict()/load_state_dict(); wrap it as Tracked(get, set)")


def snapshot_tracked(items: Mapping[str, Any]) -> dict[str, Any]:
    """``name -> state`` of every tracked item (see the module example)."""
    out = {}
    for name, obj in items.items():
        _check(name, obj)
        out[name] = obj.get() if isinstance(obj, Tracked) else obj.state_dict()
    return out


def restore_tracked(items: Mapping[str, Any], saved: Mapping[str, Any]) -> None:
    """Put ``saved`` (from :func:`snapshot_tracked`) back into the tracked items."""
    if set(saved) != set(items):
        raise CheckpointError(
            f"the checkpoint tracks {sorted(saved)}, this code tracks {sorted(items)}; "
            "rerun with --force to start over, or resume with the code that wrote it"
        )
    for name, obj in items.items():
        _check(name, obj)
        if isinstance(obj, Tracked):
            obj.set(saved[name])
        else:
            obj.load_state_dict(saved[name])
