"""What the experiment bodies share: images from the config, as one clear user error if they cannot load."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.core import LabkitError
from labkit.son_qttn.data import IDXFormatError, load_images

__all__ = ["images_of"]


def images_of(cfg: Any) -> np.ndarray:
    """``load_images(cfg.dataset, n_images=cfg.n_images, path=cfg.data_path)``; a bad file is a LabkitError."""
    try:
        return load_images(cfg.dataset, n_images=cfg.n_images, path=cfg.data_path)
    except (IDXFormatError, ValueError) as exc:
        raise LabkitError(str(exc)) from None
