"""QIMADTorch's dynamics against independent references: RMSprop, a sequential implementation, closed forms."""

from __future__ import annotations

import cmath
import copy
import math

import pytest
import torch

from labkit.qimad import QIMADTorch, fidelity_weights, neighbour_graph, temperature


def test_one_agent_is_rmsprop_bitwise(task):
    model, _ = task(seed=1)
    twin = copy.deepcopy(model)
    opt = QIMADTorch(model.parameters(), num_agents=1, eta=0.01, seed=3, total_steps=40)
    ref = torch.optim.RMSprop(twin.parameters(), lr=0.01, alpha=0.99, eps=1e-8)
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(1))
    y = torch.sin(x.sum(dim=1, keepdim=True))
    seen = []

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        seen.append(float(loss.detach()))
        return loss

    def ref_closure():
        ref.zero_grad()
        loss = torch.nn.functional.mse_loss(twin(x), y)
        loss.backward()
        return loss

    ref_losses = []
    for _ in range(40):
        opt.step(closure)
        ref_losses.append(float(ref.step(ref_closure).detach()))
        for agent, p in zip(opt.agent_params(), twin.parameters(), strict=True):
            assert torch.equal(agent[0], p.detach())  # bitwise
    assert seen == ref_losses
    assert opt.best_loss == min(ref_losses)


def test_fidelity_weights_match_complex_inner_products():
    g = torch.Generator().manual_seed(0)
    n = 6
    alpha = torch.rand(n, generator=g, dtype=torch.float64) * math.pi
    beta = torch.rand(n, generator=g, dtype=torch.float64) * 2 * math.pi
    adj = neighbour_graph("ring", n, g, torch.device("cpu"))
    k = 3.0
    w = fidelity_weights(alpha, beta, adj, k)
    for i in range(n):
        psi_i = (math.cos(alpha[i] / 2), cmath.exp(1j * beta[i]) * math.sin(alpha[i] / 2))
        raw = {}
        for j in range(n):
            if adj[i, j]:
                psi_j = (math.cos(alpha[j] / 2), cmath.exp(1j * beta[j]) * math.sin(alpha[j] / 2))
                raw[j] = abs(psi_i[0].conjugate() * psi_j[0] + psi_i[1].conjugate() * psi_j[1]) ** k
        for j in range(n):
            want = raw.get(j, 0.0) / sum(raw.values())
            assert float(w[i, j]) == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("topology", ["complete", "ring", "grid", "random"])
def test_neighbour_graphs(topology):
    for n in (1, 2, 3, 5, 8, 9):
        adj = neighbour_graph(topology, n, torch.Generator().manual_seed(n), torch.device("cpu"))
        assert torch.equal(adj, adj.T) and not adj.diagonal().any()
        deg = adj.sum(1)
        if n == 1:
            assert int(deg.sum()) == 0
            continue
        assert bool((deg >= 1).all())
        if topology == "complete":
            assert bool((deg == n - 1).all())
        if topology == "ring":
            assert bool((deg == min(2, n - 1)).all())
        if topology == "grid" and n == 9:  # a 3x3 lattice: 4 corners of degree 2, 4 edges of 3, 1 centre of 4
            assert sorted(deg.tolist()) == [2, 2, 2, 2, 3, 3, 3, 3, 4]


def test_temperature_schedules_closed_forms():
    m = 0.05
    for cooling in ("cosine", "linear", "exponential"):
        assert temperature(cooling, 0, 100, m) == pytest.approx(1.0)
        assert temperature(cooling, 100, 100, m) == pytest.approx(m)
        assert temperature(cooling, 250, 100, m) == pytest.approx(m)  # clamped past the horizon
    assert temperature("cosine", 50, 100, m) == pytest.approx((1 + m) / 2)
    assert temperature("linear", 25, 100, m) == pytest.approx(1 - 0.95 / 4)
    assert temperature("exponential", 50, 100, m) == pytest.approx(math.sqrt(m))
    assert temperature("none", 50, 100, m) == 1.0 and temperature("cosine", 5, None, m) == 1.0


# every topology and every cooling mode, each twice (the full product runs in test_api's smoke test)
CASES = [("complete", "cosine"), ("complete", None), ("ring", "linear"), ("ring", "exponential"),
         ("grid", "exponential"), ("grid", "cosine"), ("random", None), ("random", "linear")]


@pytest.mark.parametrize("topology,cooling", CASES)
def test_matches_sequential_reference(topology, cooling, task, reference):
    """The vectorised update equals a per-agent, per-parameter loop of the same dynamics."""
    model, closure_for = task(seed=2, dtype=torch.float64)  # float64: rounding cannot mask a wrong term
    layers = list(model.parameters())
    groups = [{"params": layers[:2], "eta": 0.3}, {"params": layers[2:], "eta": 0.1}]  # large: agents stagnate
    k_eval = 3 if topology in ("ring", "random") else None
    cfg = dict(num_agents=5, gamma=0.3, k=2.0, alpha_lr=0.5, beta_lr=0.5, k_eval=k_eval, seed=7,
               cooling=cooling, total_steps=30, min_temp=0.05)
    opt = QIMADTorch(groups, topology=topology, **cfg)
    ref = reference(groups, opt._adjacency.tolist(), random_topology=topology == "random", **cfg)
    closure = closure_for(opt)
    opt.enable_tracking()
    for t in range(25):
        best = float(opt.step(closure))
        ref_best = ref.step(closure)
        assert best == pytest.approx(ref_best, rel=1e-10, abs=1e-12)
        if t % 6 != 0 and t != 24:
            continue
        for j, stacked in enumerate(opt.agent_params()):
            for i in range(5):
                torch.testing.assert_close(stacked[i], ref.agents[i][j], rtol=1e-10, atol=1e-11)
    assert opt._stagnation == ref.stag
    assert sum(opt.get_log()["tunnels"]) > 0  # the tunnelling path was compared too


def test_tunnelling_jump_size_and_stagnation_reset():
    """On a flat loss only swarm terms move agents; tunnelling jumps stay inside (0.8 mean|theta|+0.1) T."""
    x = torch.nn.Parameter(torch.full((50,), 2.0))
    opt = QIMADTorch([x], num_agents=4, gamma=0.0, seed=0, cooling=None, alpha_lr=0.0, beta_lr=0.0)
    opt._alpha = [math.pi] * 4  # sin^2(alpha/2) = 1: every stagnating agent tunnels

    def closure():
        opt.zero_grad()
        loss = (x * 0).sum()  # zero gradient, constant loss
        loss.backward()
        return loss

    opt.enable_tracking()
    for step in range(6):
        before = opt.agent_params()[0].clone()
        opt.step(closure)
        after = opt.agent_params()[0]
        if step < 4:  # stagnation 1..4 after steps 0..3; the first jump happens at stagnation 4 (> 3)
            assert torch.equal(before, after) and opt.get_log()["tunnels"][-1] == 0
        if step == 4:
            assert opt.get_log()["tunnels"][-1] == 4
            assert opt._stagnation == [0, 0, 0, 0]
            jump = (after - before).abs()
            # attraction to best (all agents at 2.0 before) is zero, so the move is the jump alone
            assert float(jump.max()) <= 0.8 * 2.0 + 0.1 and float(jump.max()) > 0.5

