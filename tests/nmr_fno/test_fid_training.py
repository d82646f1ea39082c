"""FID-surrogate training resumes bit-identically through ctx.loop (track=), and takes any optimizer factory."""

import logging

import pytest
import torch

from labkit.core import RunContext
from labkit.nmr_fno.fid_surrogate import FIDSpec, FIDSurrogate
from labkit.nmr_fno.fid_training import FIDTrainSettings, make_fid_data, train_fid

SETTINGS = FIDTrainSettings(epochs=4, batch_size=4, lr=3e-3)


def _ctx(path, resume):
    return RunContext(config=None, out_dir=path, seed=0, device="cpu", log=logging.getLogger("test"), resume=resume)


def _sur(seed=0):
    torch.manual_seed(seed)
    return FIDSurrogate.build("lines", FIDSpec(n_spins=[3, 4]), hidden=8, head_width=8, slots=2)


@pytest.fixture(scope="module")
def data():
    return make_fid_data({3: 6, 4: 6}, seed=0)


def test_fid_training_resumes_exactly_after_kill(tmp_path, data):
    ref = _sur()
    ref_hist = train_fid(ref, data, SETTINGS, loop=_ctx(tmp_path / "ref", False).loop)

    class Killed(Exception):
        pass

    ctx = _ctx(tmp_path / "run", False)

    def killing_loop(total, **kw):
        for epoch in ctx.loop(total, **kw):
            if epoch == 2:  # dies in epoch 3, after the checkpoint of epoch 2
                raise Killed
            yield epoch

    with pytest.raises(Killed):
        train_fid(_sur(), data, SETTINGS, loop=killing_loop)
    resumed = _sur(seed=7)  # a fresh process: different init; the checkpoint must restore it
    hist = train_fid(resumed, data, SETTINGS, loop=_ctx(tmp_path / "run", True).loop)
    assert [h["train_loss"] for h in hist] == [h["train_loss"] for h in ref_hist]
    for a, b in zip(ref.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_fid_training_takes_a_registered_optimizer(tmp_path, data):
    sgd = _ctx(tmp_path, False).resolve("optimizer", "sgd")
    sur = _sur()
    before = [p.detach().clone() for p in sur.model.parameters()]
    hist = train_fid(sur, data, FIDTrainSettings(epochs=1, batch_size=4, lr=1e-2, weight_decay=0.0), optimizer=sgd)
    assert len(hist) == 1 and hist[0]["train_loss"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, sur.model.parameters(), strict=True))
