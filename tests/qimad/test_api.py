"""QIMADTorch as a torch.optim optimizer: determinism, resume, round robin, bad losses, arguments, groups."""

from __future__ import annotations

import copy
import io
import itertools
import math

import pytest
import torch

from labkit.qimad import QIMAD, QIMADTorch, functional_loss


def run(opt, closure, steps):
    return [float(opt.step(closure)) for _ in range(steps)]


def snapshot(opt):
    return [t.clone() for t in opt.agent_params()], opt.get_agent_losses(), opt.best_loss


def test_alias_and_defaults(task):
    model, _ = task()
    opt = QIMAD(model.parameters())
    assert isinstance(opt, QIMADTorch) and opt.num_agents == 8 and opt.k_eval == 8
    assert opt.param_groups[0]["eta"] == opt.param_groups[0]["lr"] == 0.05


def test_same_seed_same_run_other_seed_differs(task):
    results = []
    for seed in (5, 5, 6):
        model, closure_for = task(seed=0)
        opt = QIMADTorch(model.parameters(), num_agents=4, seed=seed, gamma=0.2, total_steps=20, eta=0.2)
        run(opt, closure_for(opt), 20)
        results.append(snapshot(opt))
    assert all(torch.equal(a, b) for a, b in zip(results[0][0], results[1][0], strict=True)) and results[0][1:] == results[1][1:]
    assert not all(torch.equal(a, b) for a, b in zip(results[0][0], results[2][0], strict=True))


def test_seed_none_follows_global_torch_seed(task):
    model, _ = task()
    torch.manual_seed(11)
    a = QIMADTorch(model.parameters(), num_agents=3).seed
    torch.manual_seed(11)
    assert QIMADTorch(model.parameters(), num_agents=3).seed == a


def _resume_case(task, save_and_load, k_eval=3):
    """Run 12 steps straight; run 5, round-trip through save_and_load into a fresh optimizer, run 7."""
    kwargs = dict(num_agents=5, k_eval=k_eval, topology="random", gamma=0.2, eta=0.2, total_steps=12)
    model, closure_for = task(seed=3)
    opt = QIMADTorch(model.parameters(), seed=1, **kwargs)
    opt.enable_tracking()
    straight = run(opt, closure_for(opt), 12)
    model2, closure_for2 = task(seed=3)
    opt2 = QIMADTorch(model2.parameters(), seed=1, **kwargs)
    opt2.enable_tracking()
    first = run(opt2, closure_for2(opt2), 5)
    saved = save_and_load({"model": model2.state_dict(), "opt": opt2.state_dict()})
    model3, closure_for3 = task(seed=3)  # same data; other weights, a fresh optimizer with another seed
    with torch.no_grad():
        for p in model3.parameters():
            p.add_(1.0)
    opt3 = QIMADTorch(model3.parameters(), seed=1234, **kwargs)
    model3.load_state_dict(saved["model"])
    opt3.load_state_dict(saved["opt"])
    rest = run(opt3, closure_for3(opt3), 7)
    assert first + rest == straight
    for a, b in zip(opt.agent_params(), opt3.agent_params(), strict=True):
        assert torch.equal(a, b)
    assert opt.get_agent_losses() == opt3.get_agent_losses()
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), model3.parameters(), strict=True))
    assert opt.get_log() == opt3.get_log()
    assert opt._gen.get_state().equal(opt3._gen.get_state())


def test_resume_bit_identical_torch_save(task):
    def via_torch_save(state):
        buf = io.BytesIO()
        torch.save(state, buf)
        buf.seek(0)
        return torch.load(buf, weights_only=True)

    _resume_case(task, via_torch_save)
    _resume_case(task, via_torch_save, k_eval=None)


def test_resume_bit_identical_labkit_checkpointer(task, tmp_path):
    core = pytest.importorskip("labkit.core")

    def via_checkpointer(state):
        ck = core.Checkpointer(tmp_path / "ck", keep_last=2)
        ck.save(5, state)
        return ck.load_latest().state

    _resume_case(task, via_checkpointer)


def test_state_dict_is_a_snapshot_and_rng_kept_outside_param_state(task):
    model, closure_for = task()
    opt = QIMADTorch(model.parameters(), num_agents=3, seed=0)
    sd = opt.state_dict()
    run(opt, closure_for(opt), 3)
    assert isinstance(sd["qimad"]["rng_state"], bytes)
    assert all(t.dtype == torch.float32 for st in sd["state"].values() for t in st.values())
    assert not torch.equal(sd["state"][0]["agents"], opt.agent_params()[0])  # not aliased to live buffers
    with pytest.raises(ValueError, match="num_agents"):
        QIMADTorch(model.parameters(), num_agents=4).load_state_dict(sd)
    with pytest.raises(ValueError, match="state_dict"):
        QIMADTorch(model.parameters(), num_agents=3).load_state_dict({"state": {}, "param_groups": []})


def test_k_eval_round_robin_covers_every_agent(task):
    model, closure_for = task()
    opt = QIMADTorch(model.parameters(), num_agents=7, k_eval=3, seed=0)
    inner = closure_for(opt)
    seen = []

    def closure():
        seen.append(next(model.parameters()).detach().clone())
        return inner()

    for step in range(1, 4):
        agents_before = opt.agent_params()[0].clone()
        opt.step(closure)
        expected = [((step - 1) * 3 + j) % 7 for j in range(3)]
        for j, i in enumerate(expected):  # the closure saw exactly agent i's weights, in turn
            assert torch.equal(seen[-3 + j], agents_before[i])
        finite = [math.isfinite(x) for x in opt.get_agent_losses()]
        assert sum(finite) == min(7, 3 * step)
    assert len(seen) == 9 and all(math.isfinite(x) for x in opt.get_agent_losses())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "grad"])
def test_non_finite_losses_never_win_or_poison(task, bad):
    model, closure_for = task(seed=4)
    opt = QIMADTorch(model.parameters(), num_agents=4, seed=0, eta=0.1)
    inner = closure_for(opt)
    calls = itertools.count()

    def closure():
        loss = inner()
        if next(calls) % 3 == 1:  # every third evaluation is broken
            if bad == "grad":
                next(model.parameters()).grad.fill_(float("nan"))
                return loss
            return torch.tensor(bad)
        return loss

    for _ in range(15):
        best = float(opt.step(closure))
        assert math.isfinite(best)
        assert all(bool(torch.isfinite(a).all()) for a in opt.agent_params())
        assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
        assert all(bool(torch.isfinite(opt.state[p]["square_avg"]).all()) for p in model.parameters())
    # the best is a loss that was really observed at the weights the model now holds
    assert float(inner().detach()) == pytest.approx(best, rel=1e-6)


def test_all_evaluations_bad_keeps_weights():
    x = torch.nn.Parameter(torch.ones(4))
    opt = QIMADTorch([x], num_agents=3, seed=0)

    def closure():
        opt.zero_grad()
        (x.sum() * float("nan")).backward()
        return torch.tensor(float("nan"))

    assert math.isinf(float(opt.step(closure)))
    assert torch.equal(x.detach(), torch.ones(4)) and torch.equal(opt.agent_params()[0], torch.ones(3, 4))


@pytest.mark.parametrize("kwargs,name", [
    ({"num_agents": 0}, "num_agents"), ({"num_agents": 2.5}, "num_agents"),
    ({"k_eval": 0}, "k_eval"), ({"k_eval": 9}, "k_eval"), ({"topology": "star"}, "topology"),
    ({"cooling": "warm"}, "cooling"), ({"eta": -1.0}, "eta"), ({"gamma": float("nan")}, "gamma"),
    ({"min_temp": 0.0}, "min_temp"), ({"total_steps": 0}, "total_steps"), ({"seed": -1}, "seed"),
])
def test_bad_arguments_name_the_argument(kwargs, name, task):
    model, _ = task()
    with pytest.raises(ValueError, match=rf"^{name}:"):
        QIMADTorch(model.parameters(), **kwargs)


def test_step_without_closure_raises(task):
    model, _ = task()
    with pytest.raises(ValueError, match=r"^closure:"):
        QIMADTorch(model.parameters(), num_agents=2).step()


def test_param_groups_own_eta_and_scheduler_drives_lr(task):
    model, closure_for = task(seed=5)
    layers = list(model.parameters())
    frozen = [p.detach().clone() for p in layers[2:]]
    opt = QIMADTorch([{"params": layers[:2]}, {"params": layers[2:], "eta": 0.0}], num_agents=1, eta=0.02)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    twin = copy.deepcopy(model)
    ref = torch.optim.RMSprop(list(twin.parameters())[:2], lr=0.02, alpha=0.99, eps=1e-8)
    ref_sched = torch.optim.lr_scheduler.StepLR(ref, step_size=2, gamma=0.5)
    closure = closure_for(opt)
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(5))
    y = torch.sin(x.sum(dim=1, keepdim=True))

    def ref_closure():
        ref.zero_grad()
        loss = torch.nn.functional.mse_loss(twin(x), y)
        loss.backward()
        return loss

    for _ in range(6):
        opt.step(closure)
        ref.step(ref_closure)
        sched.step()
        ref_sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.02 / 8)
    opt.step(closure)  # eta mirrors the scheduled lr
    ref.step(ref_closure)
    assert opt.param_groups[0]["eta"] == opt.param_groups[0]["lr"]
    for a, p in zip(opt.agent_params()[:2], list(twin.parameters())[:2], strict=True):
        assert torch.equal(a[0], p.detach())
    for a, f in zip(opt.agent_params()[2:], frozen, strict=True):  # eta = 0 group never moves
        assert torch.equal(a[0], f)
    with pytest.raises(ValueError, match="eta"):
        QIMADTorch([{"params": layers, "eta": 0.1, "lr": 0.2}])


@pytest.mark.parametrize("k_eval", [None, 2])
def test_batched_path_matches_sequential(task, k_eval):
    results = []
    for batched in (False, True):
        model, closure_for = task(seed=6, dtype=torch.float64)
        opt = QIMADTorch(model.parameters(), num_agents=4, k_eval=k_eval, seed=2, gamma=0.2, eta=0.2)
        g = torch.Generator().manual_seed(6)
        x = torch.randn(32, 3, generator=g).double()
        y = torch.sin(x.sum(dim=1, keepdim=True))
        f = functional_loss(model, opt.params_in_order(), lambda out, y=y: torch.nn.functional.mse_loss(out, y), x)
        closure = closure_for(opt)
        losses = [float(opt.step_batched(f) if batched else opt.step(closure)) for _ in range(15)]
        results.append((losses, [a.clone() for a in opt.agent_params()]))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-10)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("topology,cooling", list(itertools.product(
    ["complete", "ring", "grid", "random"], ["cosine", "linear", "exponential", None])))
def test_every_topology_and_cooling_descends(topology, cooling, task):
    model, closure_for = task(seed=7)
    opt = QIMADTorch(model.parameters(), num_agents=5, topology=topology, cooling=cooling, total_steps=15,
                     seed=0, eta=0.05)
    opt.enable_tracking()
    best = run(opt, closure_for(opt), 15)
    assert best == sorted(best, reverse=True) and best[-1] < 0.8 * best[0]
    log = opt.get_log()
    assert set(log) == {"losses", "diversity", "tunnels", "alphas", "betas", "temperature"}
    assert all(len(v) == 15 for v in log.values())
    assert all(0 <= a <= math.pi for row in log["alphas"] for a in row)
    assert all(0 <= b < 2 * math.pi for row in log["betas"] for b in row)
    opt.reset_log()
    assert all(len(v) == 0 for v in opt.get_log().values())


@pytest.mark.parametrize("zeroing", ["model_set_to_none", "none"])
def test_closure_zeroing_style_does_not_change_the_run(task, zeroing):
    """opt.zero_grad() (in-place fast path), model.zero_grad() (grads replaced) and no zeroing agree."""
    runs = []
    for style in ("optimizer", zeroing):
        model, _ = task(seed=8)
        g = torch.Generator().manual_seed(8)
        x = torch.randn(32, 3, generator=g)
        y = torch.sin(x.sum(dim=1, keepdim=True))
        opt = QIMADTorch(model.parameters(), num_agents=4, seed=1, eta=0.05)

        def closure(style=style, model=model, opt=opt, x=x, y=y):
            if style == "optimizer":
                opt.zero_grad()
            elif style == "model_set_to_none":
                model.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss

        runs.append(([float(opt.step(closure)) for _ in range(8)], [a.clone() for a in opt.agent_params()]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        assert torch.equal(a, b)


def test_parameters_become_views_of_one_flat_buffer_and_are_rebound(task):
    model, closure_for = task(seed=9)
    opt = QIMADTorch(model.parameters(), num_agents=3, seed=0)
    ptrs = [p.data_ptr() for p in model.parameters()]
    assert len({p.untyped_storage().data_ptr() for p in model.parameters()}) == 1
    closure = closure_for(opt)
    opt.step(closure)
    first = next(model.parameters())
    first.data = first.data.clone()  # the user replaces a parameter's tensor: the next step rebinds it
    opt.step(closure)
    assert [p.data_ptr() for p in model.parameters()] == ptrs
    first.data = first.data.double()
    with pytest.raises(ValueError, match="params: a parameter changed"):
        opt.step(closure)


def test_closure_must_return_a_scalar(task):
    model, _ = task(seed=0)
    opt = QIMADTorch(model.parameters(), num_agents=2, seed=0)
    with pytest.raises(ValueError, match="closure: must return a scalar"):
        opt.step(lambda: torch.zeros(3))


def test_cuda_graph_refused_on_cpu(task):
    model, _ = task(seed=0)
    opt = QIMADTorch(model.parameters(), num_agents=2, seed=0)
    f = functional_loss(model, opt.params_in_order(), lambda out: out.square().mean(), torch.randn(4, 3))
    with pytest.raises(ValueError, match="cuda_graph"):
        opt.step_batched(f, cuda_graph=True)


def test_a_raising_closure_moves_nothing(task):
    model, closure_for = task(seed=3)
    opt = QIMADTorch(model.parameters(), num_agents=4, k_eval=2, seed=0)
    closure = closure_for(opt)
    opt.step(closure)
    before = opt.state_dict()
    weights = [p.detach().clone() for p in model.parameters()]
    calls = itertools.count()

    def flaky():
        if next(calls) == 1:
            raise RuntimeError("out of memory, say")
        return closure()

    with pytest.raises(RuntimeError, match="out of memory"):
        opt.step(flaky)
    after = opt.state_dict()
    assert after["qimad"]["pointer"] == before["qimad"]["pointer"]
    for pid, saved in before["state"].items():
        assert torch.equal(after["state"][pid]["agents"], saved["agents"])
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights, strict=True))


def test_step_under_no_grad_runs_the_same_and_leaves_grad_mode_alone(task):
    """The closure always gets autograd; the caller's grad mode is untouched; no buffer joins a graph."""
    runs = []
    for disabled in (False, True):
        model, closure_for = task(seed=5)
        opt = QIMADTorch(model.parameters(), num_agents=3, seed=2)
        closure = closure_for(opt)
        with torch.set_grad_enabled(not disabled):
            runs.append([float(opt.step(closure)) for _ in range(4)])
            assert torch.is_grad_enabled() is (not disabled)
        for b in opt._buffers:
            for t in (b.store, b.grad, b.square_avg, b.live):
                assert not t.requires_grad and t.grad_fn is None
    assert runs[0] == runs[1]


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
def test_closure_with_create_graph_keeps_buffers_out_of_the_graph(task):
    """backward(create_graph=True) leaves graph-carrying .grad tensors; the agents' rows copy only values."""
    model, _ = task(seed=6)
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(6))
    opt = QIMADTorch(model.parameters(), num_agents=2, seed=0)

    def closure():
        model.zero_grad(set_to_none=True)
        loss = model(x).square().mean()
        loss.backward(create_graph=True)
        return loss

    opt.step(closure)
    b = opt._buffers[0]
    assert not b.grad.requires_grad and b.grad.grad_fn is None
    assert b.grad.abs().sum() > 0
