"""Training: loss decreases, history logs components, and a killed run resumes bit-identically via ctx.loop."""

import logging

import numpy as np
import pytest
import torch

from labkit.core import RunContext
from labkit.nmr_fno.fno import FNOConfig
from labkit.nmr_fno.surrogate import Surrogate, SurrogateSpec, surrogate_times
from labkit.nmr_fno.training import TrainSettings, train_surrogate

N_T = 32


def _synthetic(n=24, seed=0):
    """Damped cosines whose frequency/decay are the first two features: a learnable map, Mx(0)=1."""
    rng = np.random.default_rng(seed)
    sur = _surrogate()
    x = np.zeros((n, sur.model.n_features), np.float32)
    x[:, :2] = rng.uniform(-1, 1, (n, 2))
    t = surrogate_times(N_T, 1.0)
    y = np.zeros((n, 3, N_T), np.float32)
    y[:, 0] = np.cos(2 * np.pi * (3 + 2 * x[:, :1]) * t) * np.exp(-(1.5 + x[:, 1:2]) * t)
    y[:, 1] = np.sin(2 * np.pi * (3 + 2 * x[:, :1]) * t) * np.exp(-(1.5 + x[:, 1:2]) * t)
    y[:, 2] = np.exp(-t)[None]
    return x, y


def _surrogate(seed=0):
    torch.manual_seed(seed)
    return Surrogate.build(SurrogateSpec(n_max=3, n_t=N_T), FNOConfig(width=8, modes=8, n_layers=2, encoder_width=32))


def _ctx(path, resume):
    return RunContext(config=None, out_dir=path, seed=0, device="cpu", log=logging.getLogger("test"), resume=resume)


def test_training_reduces_loss_and_logs_components():
    x, y = _synthetic()
    sur = _surrogate()
    hist = train_surrogate(sur, x, y, TrainSettings(epochs=15, batch_size=8, lr=3e-3), validation=(x, y))
    assert hist[-1]["mse"] < 0.5 * hist[0]["mse"]
    assert {"total", "mse", "initial", "bound", "lr", "val_rmse"} <= set(hist[0])
    assert hist[-1]["lr"] < hist[0]["lr"]  # cosine annealing


def test_training_resumes_exactly_after_kill(tmp_path):
    x, y = _synthetic()
    settings = TrainSettings(epochs=6, batch_size=8, checkpoint_every=2)
    torch.manual_seed(123)
    ref = _surrogate()
    ref_hist = train_surrogate(ref, x, y, settings, loop=_ctx(tmp_path / "ref", False).loop)

    class Killed(Exception):
        pass

    ctx = _ctx(tmp_path / "run", False)

    def killing_loop(total, **kw):
        for epoch in ctx.loop(total, **kw):
            if epoch == 3:  # dies in epoch 4, after the checkpoint of epoch 2
                raise Killed
            yield epoch

    torch.manual_seed(123)
    with pytest.raises(Killed):
        train_surrogate(_surrogate(), x, y, settings, loop=killing_loop)
    torch.manual_seed(999)  # a fresh process: different init and RNG; the checkpoint must restore both
    resumed = _surrogate(seed=7)
    hist = train_surrogate(resumed, x, y, settings, loop=_ctx(tmp_path / "run", True).loop)
    assert [h["total"] for h in hist] == [h["total"] for h in ref_hist]
    for a, b in zip(ref.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def _qimad(tmp_path):
    """QIMAD through core's registry, as an experiment selects it."""
    return _ctx(tmp_path, False).resolve("optimizer", "qimad")


def test_training_bad_input(tmp_path):
    sur = _surrogate()
    x, y = _synthetic(4)
    y[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train_surrogate(sur, x, y, TrainSettings(epochs=1))
    with pytest.raises(ValueError, match="weight_decay"):  # QIMAD has none: refused, not ignored
        train_surrogate(sur, x, np.nan_to_num(y), TrainSettings(epochs=1), optimizer=_qimad(tmp_path))


def test_training_with_qimad_runs_and_learns(tmp_path):
    x, y = _synthetic()
    sur = _surrogate()
    hist = train_surrogate(sur, x, y, TrainSettings(epochs=4, batch_size=8, lr=3e-3, weight_decay=0.0), optimizer=_qimad(tmp_path))
    assert np.isfinite(hist[-1]["mse"]) and hist[-1]["mse"] < hist[0]["mse"]
