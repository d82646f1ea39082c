"""The NumPy inference path of the line model (the CPU `predict` path) against the torch model it copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.nmr_fno.fid_surrogate import FIDSpec, FIDSurrogate, _pair_transfer, pair_transfer_i1z, pair_transfer_torch
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
    assert np.abs(fast["I1z"] - slow["I1z"]).max() < 1e-13  # NumPy and torch evaluations of one float64 formula
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


def test_pair_transfer_in_torch_equals_the_numpy_formula():
    for n, seed in ((2, 1), (4, 2), (10, 3)):
        systems = task_systems(n, 9, seed=seed)
        nu, jm = np.stack([s.offsets_hz for s in systems]), np.stack([s.couplings_hz for s in systems])
        jm[0] = 0.0  # an uncoupled system: I1z = 1
        ref = _pair_transfer(nu, jm, TASK_TIMES)
        got = pair_transfer_torch(torch.from_numpy(nu), torch.from_numpy(jm), torch.from_numpy(TASK_TIMES)).numpy()
        assert np.abs(got - ref).max() < 1e-13 and np.array_equal(got[0], np.ones(TASK_TIMES.size))


@pytest.mark.parametrize("n", [3, 6, 10])
def test_static_forward_equals_the_model_in_float64(n):
    """The fixed-shape path (dense masked messages, regrouped layers, cos factors always applied) is the model to rounding."""
    net = _random_net(torch.float64)
    systems = task_systems(n, 6, seed=50 + n)
    nu, jm = systems_to_tensors(systems)
    with torch.no_grad():
        re, im = net.forward_static(nu, jm, float(TASK_TIMES[1]), TASK_TIMES.size)
        f_ref, a_ref, r_ref = net.lines(nu, jm)
        f, a, r = net.lines_static(nu, jm)
    ref_re, ref_im = _torch_fid(net, systems)
    scale = np.abs(ref_re + 1j * ref_im).max()
    assert np.abs(re.numpy() - ref_re).max() < 1e-10 * scale and np.abs(im.numpy() - ref_im).max() < 1e-10 * scale
    assert torch.equal(r, r_ref) and float((f - f_ref).abs().max()) < 1e-9 and float((a - a_ref).abs().max()) < 1e-9


def test_torch_route_of_predict_matches_the_model_across_groups_and_batches():
    """The batched torch route (used on a GPU) against the model's own forward, per system, mixed N, uneven chunks."""
    sur = FIDSurrogate("lines", _random_net(torch.float32, 0.05), FIDSpec(n_spins=[5, 8]))
    sur._cpu_engine = lambda: None
    systems = task_systems(8, 5, seed=11) + task_systems(5, 3, seed=12) + task_systems(8, 2, seed=13)
    out = sur.predict(systems, linewidth_hz=2.0, batch_size=3, check_range=False)
    decay = np.exp(-np.pi * 2.0 * TASK_TIMES)
    for i, s in enumerate(systems):
        with torch.no_grad():
            re, im = sur.model(*systems_to_tensors([s], torch.float32), torch.as_tensor(TASK_TIMES, dtype=torch.float32))
        assert np.abs(out["Mx"][i] - re[0].double().numpy() * decay).max() < 1e-4
        assert np.abs(out["My"][i] - im[0].double().numpy() * decay).max() < 1e-4
        assert np.abs(out["I1z"][i] - pair_transfer_i1z([s], TASK_TIMES)[0]).max() < 1e-13


def test_range_warnings_name_the_same_systems_as_the_per_system_check():
    sur = FIDSurrogate("lines", _random_net(torch.float32, 0.05), FIDSpec(n_spins=[4, 6]))
    systems = task_systems(4, 3, seed=1) + task_systems(6, 2, seed=2) + task_systems(5, 1, seed=3)
    systems[1] = SpinSystem(np.r_[150.0, systems[1].offsets_hz[1:]], systems[1].couplings_hz)
    systems[3] = SpinSystem(systems[3].offsets_hz, systems[3].couplings_hz * 1.5)
    expect = [f"system {i} is outside the trained range: {'; '.join(r)}" for i, s in enumerate(systems) if (r := sur.spec.out_of_range(s))]
    with pytest.warns(UserWarning) as rec:
        sur.predict(systems)
    assert [str(w.message) for w in rec] == expect and len(expect) == 3


@pytest.mark.gpu
def test_cuda_graph_route_equals_eager_kernels_and_the_cpu_path():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cpu = FIDSurrogate.pretrained()
    gpu = FIDSurrogate.from_state_dict(cpu.state_dict())
    gpu.model.to("cuda")
    systems = task_systems(10, 40, seed=3) + task_systems(6, 7, seed=4)
    eager = gpu.predict(systems, check_range=False)  # first sight of each (B, N): eager kernels
    gpu.predict(systems, check_range=False)  # second: captured
    replayed = gpu.predict(systems, check_range=False)
    assert gpu._replay.failed is None and gpu._replay.graphs == 2
    ref = cpu.predict(systems, check_range=False)
    for k in ("Mx", "My"):
        assert np.abs(replayed[k] - eager[k]).max() < 1e-5 and np.abs(replayed[k] - ref[k]).max() < 1e-4
    assert np.abs(replayed["I1z"] - ref["I1z"]).max() < 1e-12
    with torch.no_grad():  # an in-place weight update is seen by the captured graph
        for s in (cpu, gpu):
            s.model.head[4].bias.add_(0.05)
    moved, ref2 = gpu.predict(systems, check_range=False), cpu.predict(systems, check_range=False)
    assert np.abs(moved["Mx"] - ref2["Mx"]).max() < 1e-4 and np.abs(moved["Mx"] - replayed["Mx"]).max() > 1e-3
