"""Seeding and RNG state capture for python, numpy and (when loaded) torch."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import random
import sys
from typing import Any


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global RNG and torch (all devices).

    torch is never imported here: if it is loaded it is seeded now, otherwise the first
    ``import torch`` after this call seeds it (a JAX-only run never loads torch).

    Example:
        >>> import numpy as np
        >>> seed_everything(0); a = np.random.rand()
        >>> seed_everything(0); a == np.random.rand()
        True
    """
    import numpy as np

    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    for finder in [f for f in sys.meta_path if isinstance(f, _SeedTorchOnImport)]:
        sys.meta_path.remove(finder)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "manual_seed"):
        torch.manual_seed(seed)
    else:
        sys.meta_path.insert(0, _SeedTorchOnImport(seed))


class _SeedTorchOnImport(importlib.abc.MetaPathFinder):
    """Seeds torch right after its first import, then removes itself."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        if spec is None or spec.loader is None:
            return spec
        loader, seed = spec.loader, self.seed
        original = loader.exec_module

        def exec_and_seed(module: Any) -> None:
            original(module)
            module.manual_seed(seed)

        loader.exec_module = exec_and_seed  # type: ignore[method-assign]
        return spec


def capture_rng_state() -> dict[str, Any]:
    """Snapshot the global RNG states (python, numpy, torch CPU and CUDA if torch is loaded)."""
    import numpy as np

    state: dict[str, Any] = {"python": random.getstate(), "numpy": np.random.get_state()}
    torch = sys.modules.get("torch")
    if torch is not None:
        # bytes, not tensors: a uint8 tensor would be cast by optimizers' state loading
        state["torch"] = bytes(torch.get_rng_state().numpy().tobytes())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["torch_cuda"] = [bytes(s.numpy().tobytes()) for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot taken by :func:`capture_rng_state`."""
    import numpy as np

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "torch" in state:
        import torch

        torch.set_rng_state(torch.frombuffer(bytearray(state["torch"]), dtype=torch.uint8))
        if "torch_cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([torch.frombuffer(bytearray(s), dtype=torch.uint8) for s in state["torch_cuda"]])
