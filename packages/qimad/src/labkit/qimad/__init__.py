"""labkit.qimad: the QIMAD population optimizer (quantum-inspired multi-agent descent) for torch.

Standalone: depends on torch only (labkit-core is optional; ``plugin.py`` registers the optimizer
with labkit when it is installed). Names load lazily, so ``labkit list`` can import the plugin
module without importing torch.

>>> import torch
>>> from labkit.qimad import QIMAD
>>> opt = QIMAD(torch.nn.Linear(2, 1).parameters(), num_agents=4, seed=0)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from labkit.qimad._functional import functional_loss as functional_loss
    from labkit.qimad._optimizer import COOLINGS as COOLINGS
    from labkit.qimad._optimizer import QIMAD as QIMAD
    from labkit.qimad._optimizer import TOPOLOGIES as TOPOLOGIES
    from labkit.qimad._optimizer import QIMADTorch as QIMADTorch
    from labkit.qimad._swarm import fidelity_weights as fidelity_weights
    from labkit.qimad._swarm import neighbour_graph as neighbour_graph
    from labkit.qimad._swarm import temperature as temperature

__version__ = "0.1.0"
_EXPORTS = {
    "COOLINGS": "_optimizer",
    "QIMAD": "_optimizer",
    "QIMADTorch": "_optimizer",
    "TOPOLOGIES": "_optimizer",
    "fidelity_weights": "_swarm",
    "functional_loss": "_functional",
    "neighbour_graph": "_swarm",
    "temperature": "_swarm",
}
__all__ = [
    "COOLINGS",
    "QIMAD",
    "TOPOLOGIES",
    "QIMADTorch",
    "fidelity_weights",
    "functional_loss",
    "neighbour_graph",
    "temperature",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"labkit.qimad.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'labkit.qimad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
