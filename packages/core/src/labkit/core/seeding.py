"""Seeding and RNG state capture for python, numpy and (when loaded) torch."""

from __future__ import annotations

import random
import sys
from typing import Any


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global RNG and, if torch is importable, torch (all devices).

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
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)


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
