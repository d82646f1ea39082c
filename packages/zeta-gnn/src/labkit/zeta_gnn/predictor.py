"""A trained ZetaGCN with what it needs to predict zeros: the artifact ``model`` of ``zeta-gnn:train``.

Inputs. ``residual``/``ordinate`` targets: the zero index alone (features log n, t̃_n, ρ(t̃_n) and
n mod p) on the graph over the indices ``first_index..last``; the prediction of a zero depends on
that extent (the GCN sees 2·max(p) neighbours on each side), so indices inside the trained run's
range give exactly the run's predictions. ``spacing`` target: the preceding true zeros (the
previous ``lags`` unfolded spacings), so :meth:`ZetaPredictor.predict_spacings` takes them.

Example (rebuild from a run folder, see the README's "Use a trained model")::

    from labkit.core import load_run
    predictor = load_run("runs/zeta-gnn-train-quick").artifact("model")
    predictor.predict_zeros(range(5001, 5011))      # ordinates of zeros 5,001..5,010
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from labkit.zeta_gnn.baseline import density, smooth_zeros, unfolded_spacings
from labkit.zeta_gnn.model import ZetaGCN
from labkit.zeta_gnn.training import ZetaData, node_inputs, sparse_adjacency

__all__ = ["ZetaPredictor", "predictor_factory"]


class ZetaPredictor:
    """A :class:`ZetaGCN` plus the target's standardisation and the graph/feature settings it was trained with."""

    def __init__(self, model: ZetaGCN, config: Mapping[str, Any]) -> None:
        self.model = model
        self.config = dict(config)
        self.target: str = self.config["target"]
        self.first_index: int = int(self.config["first_index"])
        self.n_nodes: int = int(self.config["n_nodes"])

    @classmethod
    def from_training(cls, model: ZetaGCN, data: ZetaData, hidden: int) -> ZetaPredictor:
        """The predictor of a model trained on ``data`` (what ``zeta-gnn:train`` saves)."""
        return cls(model, {
            "target": data.target, "primes": list(data.primes), "graph": data.graph, "graph_seed": data.graph_seed,
            "lags": data.lags, "first_index": data.first_index, "n_fit": data.n_fit, "n_nodes": int(data.n.size),
            "mu": data.mu, "sd": data.sd, "in_features": int(data.x.shape[1]), "hidden": hidden,
        })

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The network's weights (the artifact's tensors)."""
        return self.model.state_dict()

    @torch.no_grad()
    def predict_raw(self, last: int | None = None, zeros: np.ndarray | None = None) -> np.ndarray:
        """Raw predictions (target units) for indices ``first_index..last`` (default: the trained range).

        ``zeros`` (spacing target only): true ordinates ``first_index..last + 1``.
        """
        cfg = self.config
        count = self.n_nodes if last is None else int(last) - self.first_index + 1
        if count < 1:
            raise ValueError(f"last: must be >= first_index {self.first_index}, got {last}")
        n = np.arange(self.first_index, self.first_index + count, dtype=np.float64)
        spacings = None
        if self.target == "spacing":
            if zeros is None or len(zeros) < count + 1:
                raise ValueError(f"target 'spacing' predicts from the preceding true zeros: give zeros "
                                 f"{self.first_index}..{self.first_index + count} ({count + 1} ordinates)")
            spacings = unfolded_spacings(np.asarray(zeros, dtype=np.float64)[: count + 1])
        x, ei, ew = node_inputs(n, target=self.target, primes=cfg["primes"], graph=cfg["graph"], lags=cfg["lags"],
                                n_max=float(self.first_index + cfg["n_fit"] - 1), seed=cfg["graph_seed"],
                                spacings=spacings)
        device = next(self.model.parameters()).device
        self.model.eval()
        out = self.model(torch.from_numpy(x).to(device), sparse_adjacency(ei, ew, n.size, str(device)))
        return (cfg["mu"] + cfg["sd"] * out.double()).cpu().numpy()

    def predict_zeros(self, indices: Iterable[int]) -> np.ndarray:
        """Predicted ordinates t_n of zero indices ``indices`` (``residual``/``ordinate`` targets: from the index alone).

        The graph spans ``first_index`` to the larger of the trained range's end and ``max(indices)``.
        """
        if self.target == "spacing":
            raise ValueError("this model predicts spacings from the preceding true zeros: use predict_spacings(zeros)")
        idx = np.asarray(list(indices), dtype=np.int64)
        if idx.size == 0 or idx.min() < self.first_index:
            raise ValueError(f"indices: need at least one index >= first_index {self.first_index}")
        last = max(int(idx.max()), self.first_index + self.n_nodes - 1)
        raw = self.predict_raw(last)[idx - self.first_index]
        if self.target == "ordinate":
            return raw
        ts = smooth_zeros(idx.astype(np.float64))
        return ts + raw / density(ts)

    def predict_spacings(self, zeros: np.ndarray) -> np.ndarray:
        """Predicted unfolded spacings s_n (n = first_index.., one per zero but the last) from the true ``zeros``."""
        if self.target != "spacing":
            raise ValueError(f"this model predicts zeros from their index (target {self.target!r}): use predict_zeros")
        zeros = np.asarray(zeros, dtype=np.float64)
        return self.predict_raw(self.first_index + zeros.size - 2, zeros)


def predictor_factory(config: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> ZetaPredictor:
    """labkit's rebuild contract for the ``model`` artifact: ``factory(config, tensors)``."""
    model = ZetaGCN(int(config["in_features"]), int(config["hidden"]))
    model.load_state_dict(dict(tensors))
    return ZetaPredictor(model, config)
