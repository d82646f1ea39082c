"""Losses by hand, the GCN layer against a dense product, Cluster-GCN batches, data preparation errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labkit.zeta_gnn.batching import cluster_batches, contiguous_parts, partition, spacing_survival
from labkit.zeta_gnn.graph import adelic_edges, gcn_norm, random_matched_edges
from labkit.zeta_gnn.losses import SpacingLoss, contiguous_pairs, law_nll, mmd, unfolded_pred_spacings, wigner_nll
from labkit.zeta_gnn.model import ZetaGCN, check_finite, index_features
from labkit.zeta_gnn.spectral import spacing_law
from labkit.zeta_gnn.training import prepare


def test_wigner_nll_by_hand():
    s = torch.tensor([0.5, 1.0, 1.7], dtype=torch.float64)
    hand = -np.mean([math.log(32 / math.pi**2 * x**2 * math.exp(-4 * x**2 / math.pi)) for x in (0.5, 1.0, 1.7)])
    assert float(wigner_nll(s)) == pytest.approx(hand, abs=1e-12)
    # the tabulated law with the same density agrees up to interpolation error
    assert float(law_nll(s, spacing_law("wigner", points=2001))) == pytest.approx(hand, abs=1e-4)


def test_mmd_by_hand_and_behaviour():
    x, y = torch.tensor([0.0, 1.0, 3.0]), torch.tensor([0.5, 2.0])
    bw = (0.7,)
    def k(a, b):
        return math.exp(-((a - b) ** 2) / (2 * 0.49))
    xs, ys = [0.0, 1.0, 3.0], [0.5, 2.0]
    hand = (sum(k(a, b) for i, a in enumerate(xs) for j, b in enumerate(xs) if i != j) / 6
            + sum(k(a, b) for i, a in enumerate(ys) for j, b in enumerate(ys) if i != j) / 2
            - 2 * sum(k(a, b) for a in xs for b in ys) / 6)
    assert float(mmd(x, y, bw)) == pytest.approx(hand, abs=1e-6)
    g = torch.Generator().manual_seed(1)
    same = mmd(torch.randn(500, generator=g), torch.randn(500, generator=g))
    shifted = mmd(torch.randn(500, generator=g), torch.randn(500, generator=g) + 0.5)
    assert abs(float(same)) < 0.01 < float(shifted)


def test_spacings_only_within_contiguous_runs():
    index = torch.tensor([10, 11, 12, 20, 21, 5])
    t = torch.tensor([100.0, 101.0, 103.0, 200.0, 200.5, 50.0])
    rho = torch.full((6,), 2.0)
    s = unfolded_pred_spacings(t, index, rho)
    assert sorted(s.tolist()) == [1.0, 2.0, 4.0]  # no spacing across 12→20 or 21→5
    a, b = contiguous_pairs(index)
    assert all(int(index[j]) == int(index[i]) + 1 for i, j in zip(a, b, strict=False))


def test_spacing_loss_combines_named_components():
    law = spacing_law("wigner")
    loss = SpacingLoss(law, {"mse": 1.0, "nll": 0.5, "mmd": 2.0})
    pred, target = torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0.0, 0.0, 0.0])
    t = torch.tensor([10.0, 11.0, 12.2], requires_grad=True)
    res = loss(pred, target, t_pred=t, index=torch.tensor([1, 2, 3]), density=torch.ones(3))
    assert set(res.components) == {"mse", "nll", "mmd"}
    expect = res.components["mse"] + 0.5 * res.components["nll"] + 2.0 * res.components["mmd"]
    assert float(res.total.detach()) == pytest.approx(float(expect.detach()))
    assert float(res.components["mse"]) == pytest.approx((0.01 + 0.04 + 0.09) / 3)
    res.total.backward()
    assert t.grad is not None and torch.isfinite(t.grad).all()


def test_gcn_layer_equals_dense_normalised_product():
    torch.manual_seed(0)
    n = 23
    ei = adelic_edges(n)
    w = gcn_norm(ei, n)
    model = ZetaGCN(4, hidden=6)
    x = torch.randn(n, 6)
    a = np.zeros((n, n))
    a[ei[1], ei[0]] = w  # messages flow source -> target
    out = model.conv1(x, torch.from_numpy(ei), torch.from_numpy(w).float())
    dense = torch.from_numpy(a).float() @ (x @ model.conv1.lin.weight.T) + model.conv1.bias
    torch.testing.assert_close(out, dense, rtol=1e-5, atol=1e-5)


def test_nan_features_are_refused():
    with pytest.raises(ValueError, match="features: non-finite value at row 1"):
        check_finite("features", np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="n: zero indices"):
        index_features(np.array([np.nan, 2.0]), (2,), 10)


def test_prepare_rejects_small_n_and_bad_target():
    z = np.array([14.13, 21.02, 25.01])
    with pytest.raises(ValueError, match="N >= 2"):
        prepare(z, 1)
    with pytest.raises(ValueError, match="target"):
        prepare(z, 3, target="height")


@pytest.mark.parametrize("method", ["metis", "contiguous"])
def test_cluster_batches_cover_every_node_once(method, tmp_path):
    n = 1000
    ei = adelic_edges(n)
    parts = partition(ei, n, 20, method, cache_dir=tmp_path)
    assert parts.shape == (n,) and set(parts.tolist()) == set(range(20))
    batches = list(cluster_batches(parts, ei, 3, np.random.default_rng(0)))
    nodes = np.concatenate([b.nodes for b in batches])
    assert np.array_equal(np.sort(nodes), np.arange(n))
    for b in batches:
        assert b.edge_index.max() < b.nodes.size
        # every kept edge is an edge of the full graph between nodes of this batch
        g = set(zip(ei[0].tolist(), ei[1].tolist(), strict=False))
        assert all((int(b.nodes[i]), int(b.nodes[j])) in g for i, j in b.edge_index.T[:50])
        np.testing.assert_allclose(b.edge_weight, gcn_norm(b.edge_index, b.nodes.size))


def test_metis_partition_is_cached(tmp_path, monkeypatch):
    from labkit.zeta_gnn import batching

    n = 500
    ei = adelic_edges(n)
    first = partition(ei, n, 8, "metis", cache_dir=tmp_path)
    monkeypatch.setattr(batching, "metis_parts", lambda *a, **k: pytest.fail("recomputed a cached partition"))
    np.testing.assert_array_equal(partition(ei, n, 8, "metis", cache_dir=tmp_path), first)


def test_spacing_survival_counts_pairs():
    assert spacing_survival(contiguous_parts(10, 2)) == pytest.approx(8 / 9)
    assert spacing_survival(np.arange(10) % 2) == 0.0


@pytest.mark.parametrize("keep", [None, {1, 4}])
def test_cluster_batches_match_an_induced_subgraph_per_batch(keep):
    # reference: each batch's clusters in the shuffled order, torch_geometric's subgraph (the original construction)
    from torch_geometric.utils import subgraph

    n, n_parts, per = 700, 23, 4  # the last batch holds 3 clusters
    ei = random_matched_edges(n, seed=3)
    parts = partition(ei, n, n_parts, "contiguous")
    got = list(cluster_batches(parts, ei, per, np.random.default_rng(7), keep=keep))
    perm = np.random.default_rng(7).permutation(n_parts)
    assert len(got) == -(-n_parts // per)
    for b, batch in enumerate(got):
        if keep is not None and b not in keep:
            assert batch is None
            continue
        nodes = np.sort(np.flatnonzero(np.isin(parts, perm[b * per : (b + 1) * per])))
        sub, _ = subgraph(torch.from_numpy(nodes), torch.from_numpy(ei), relabel_nodes=True, num_nodes=n)
        np.testing.assert_array_equal(batch.nodes, nodes)
        np.testing.assert_array_equal(batch.edge_index, sub.numpy())
        np.testing.assert_array_equal(batch.edge_weight, gcn_norm(sub.numpy(), nodes.size))


@pytest.mark.parametrize("graph", ["adelic", "random"])
def test_validation_on_its_receptive_field_equals_the_full_graph(graph):
    from labkit.zeta_gnn._device_batches import validation_sums
    from labkit.zeta_gnn.training import sparse_adjacency, validation_loss
    from labkit.zeta_gnn.zeros import zeta_zeros

    data = prepare(zeta_zeros(1, 610), 600, graph=graph)
    torch.manual_seed(1)
    model = ZetaGCN(data.x.shape[1], 16).eval()
    with torch.no_grad():  # reference: the whole graph, then the validation rows
        full = model(torch.from_numpy(data.x), sparse_adjacency(data.edge_index, data.edge_weight, data.n.size, "cpu"))
    err = (full[data.n_train : data.n_val] - torch.from_numpy(data.y[data.n_train : data.n_val])) ** 2
    assert validation_loss(model, data, "cpu") == pytest.approx(float(err.mean()), rel=1e-6)
    # three ranks' shares add up to the whole block
    shares = [validation_sums(model, data, "cpu", r, 3) for r in range(3)]
    assert sum(n for _, n in shares) == data.n_val - data.n_train
    assert sum(s for s, _ in shares) == pytest.approx(float(err.sum()), rel=1e-6)


def test_warm_up_leaves_weights_gradients_and_random_streams_alone():
    from labkit.zeta_gnn._device_batches import warm_up
    from labkit.zeta_gnn.zeros import zeta_zeros

    data = prepare(zeta_zeros(1, 210), 200)
    model = ZetaGCN(data.x.shape[1], 8, dropout=0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls = []
    rng = torch.get_rng_state()
    warm_up(model, data, "cpu", lambda params: calls.append(len(list(params))))
    assert calls == [len(list(model.parameters()))]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(rng, torch.get_rng_state())
