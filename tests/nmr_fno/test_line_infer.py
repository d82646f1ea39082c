"""The NumPy inference path of the line model (the CPU `predict` path) against the torch model it copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.nmr_fno.fid_surrogate import FIDSpec, FIDSurrogate, pair_transfer_i1z
from labkit.nmr_fno.line_infer import LineNetNumpy
from labkit.nmr_fno.line_model import LineNet, LineNetConfig, systems_to_tensors
from labkit.nmr_fno.systems import SpinSystem
from labkit.nmr_fno.task import TASK_TIMES, task_systems


def _random_net(dtype: torch.dtype, scale: float = 0.3) -> LineNet:
    """A LineNet with every weight random (the trained-from-zero head would hide the line shifts)."""
    torch.manual_seed(3)
    net = LineNet(LineNetConfig(hidden=24, head_width=32, slots=3)).to(dtype).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * scale)
    return net


def _torch_fid(net: LineNet, systems: list[SpinSystem]) -> tuple[np.ndarray, np.ndarray]:
    dt = net.signs.dtype
    with torch.no_grad():  # step=None: the direct cos/sin evaluation at every time point
        re, im = net(*systems_to_tensors(systems, dt), torch.as_tensor(TASK_TIMES, dtype=dt), step=None)
    return re.double().numpy(), im.double().numpy()


@pytest.mark.parametrize("n", [3, 6, 10])
def test_numpy_path_equals_the_torch_model_in_float64(n):
    net = _random_net(torch.float64)
    systems = task_systems(n, 6, seed=40 + n)
    if n == 10:  # spins with more neighbours than slots keep first-order cos factors: make sure that path runs
        _, _, rest = net.lines(*systems_to_tensors(systems))
        assert bool((rest != 0).any())
    re, im = LineNetNumpy(net).fid(np.stack([s.offsets_hz for s in systems]), np.stack([s.couplings_hz for s in systems]),
                                   float(TASK_TIMES[1]), TASK_TIMES.size)
    ref_re, ref_im = _torch_fid(net, systems)
    scale = np.abs(ref_re + 1j * ref_im).max()  # random weights give amplitudes far from 1
    assert np.abs(re - ref_re).max() < 1e-10 * scale and np.abs(im - ref_im).max() < 1e-10 * scale


def test_predict_on_cpu_matches_the_torch_path_and_sees_weight_updates():
    sur = FIDSurrogate("lines", _random_net(torch.float32, 0.05), FIDSpec(n_spins=[5, 8]))  # shifts and amplitudes as trained
    systems = task_systems(8, 5, seed=1) + task_systems(5, 3, seed=2)
    fast = sur.predict(systems, check_range=False)
    assert sur._cpu_engine() is not None

    def torch_route() -> dict[str, np.ndarray]:
        ref = FIDSurrogate(sur.kind, sur.model, sur.spec)
        ref._cpu_engine = lambda: None  # the torch forward, as on a GPU
        return ref.predict(systems, check_range=False)

    slow = torch_route()
    for k in ("Mx", "My"):  # float32 weights: the two routes differ by float32 rounding only
        assert np.abs(fast[k] - slow[k]).max() < 1e-4
    assert np.array_equal(fast["I1z"], slow["I1z"])
    # an optimiser step (in place), then a rebinding of the weights into one flat buffer (as swarm optimisers do)
    with torch.no_grad():
        sur.model.head[4].bias.add_(0.05)
    moved = sur.predict(systems, check_range=False)
    assert np.abs(moved["Mx"] - fast["Mx"]).max() > 1e-3
    params = list(sur.model.parameters())
    live = torch.zeros(sum(p.numel() for p in params))
    with torch.no_grad():
        at = 0
        for p in params:
            view = live[at:at + p.numel()].view_as(p)
            view.copy_(p)
            p.data = view
            at += p.numel()
        live.mul_(0.9)  # changes every weight without touching any parameter's version counter
    after, expect = sur.predict(systems, check_range=False), torch_route()
    assert np.abs(after["Mx"] - expect["Mx"]).max() < 1e-4 and np.abs(after["Mx"] - moved["Mx"]).max() > 1e-3


def test_pair_transfer_matches_the_per_system_formula():
    systems = task_systems(4, 3, seed=5) + task_systems(7, 3, seed=5) + [SpinSystem([3.0, -4.0, 8.0], None)]
    t = TASK_TIMES[::7]
    ref = np.ones((len(systems), t.size))
    for b, s in enumerate(systems):
        d, j = s.offsets_hz[0] - s.offsets_hz[1:], s.couplings_hz[0, 1:]
        w = np.sqrt(d**2 + j**2) + 1e-300
        ref[b] -= (j / w) ** 2 @ np.sin(np.pi * w[:, None] * t) ** 2
    assert np.abs(pair_transfer_i1z(systems, t) - ref).max() < 1e-13
