"""Adelic graph: vectorised edges equal the definition; GCN normalisation; ablation graph; coarsening."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.zeta_gnn.graph import (
    adelic_edges,
    adelic_edges_bruteforce,
    causal,
    coarsen,
    gcn_norm,
    random_matched_edges,
)


@pytest.mark.parametrize("n", [1, 2, 3, 12, 37])
@pytest.mark.parametrize("primes", [(2, 3, 5, 7, 11), (3,), ()])
@pytest.mark.parametrize("start", [1, 6])
def test_edges_match_bruteforce(n, primes, start):
    ei = adelic_edges(n, primes)
    pairs = list(zip(ei[0].tolist(), ei[1].tolist(), strict=False))
    assert len(pairs) == len(set(pairs)), "duplicate edges"
    assert set(pairs) == adelic_edges_bruteforce(n, primes, start=start)


def test_gcn_norm_equals_dense_formula_and_pyg():
    import torch
    from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_norm

    n = 29
    ei = adelic_edges(n)
    w = gcn_norm(ei, n)
    a = np.zeros((n, n))
    a[ei[0], ei[1]] = 1.0
    d = a.sum(1)
    dense = a / np.sqrt(d[:, None] * d[None, :])
    got = np.zeros((n, n))
    got[ei[0], ei[1]] = w
    np.testing.assert_allclose(got, dense, rtol=1e-14)
    # symmetric normalised adjacency of a connected graph has top eigenvalue exactly 1
    assert abs(np.linalg.eigvalsh(dense).max() - 1.0) < 1e-12
    ei_p, w_p = pyg_norm(torch.from_numpy(adelic_edges(n, self_loops=False)), None, n, add_self_loops=True)
    ref = np.zeros((n, n))
    ref[ei_p[0].numpy(), ei_p[1].numpy()] = w_p.numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_random_matched_edges_keep_degrees_and_path():
    n = 500
    ad, rnd = adelic_edges(n), random_matched_edges(n, seed=3)
    deg_a = np.bincount(ad[1], minlength=n)
    deg_r = np.bincount(rnd[1], minlength=n)
    # the configuration model drops only the rare self pairs / duplicates / path repeats
    assert np.mean(deg_a == deg_r) > 0.8
    assert np.max(np.abs(deg_a - deg_r)) <= 3
    assert abs(deg_a.sum() - deg_r.sum()) < 0.02 * deg_a.sum()
    pr = set(zip(rnd[0].tolist(), rnd[1].tolist(), strict=False))
    assert all((i, i + 1) in pr for i in range(n - 1))
    # and the prime edges really are different
    pa = set(zip(ad[0].tolist(), ad[1].tolist(), strict=False))
    assert len(pa & pr) < 0.5 * len(pa)


def test_coarsen_is_the_quotient_graph():
    n = 11
    ei = adelic_edges(n, (2,))
    cei, nc = coarsen(ei, n, 2)
    assert nc == 6
    expect = {(a // 2, b // 2) for a, b in zip(ei[0].tolist(), ei[1].tolist(), strict=False)}
    assert set(zip(cei[0].tolist(), cei[1].tolist(), strict=False)) == expect


def test_causal_keeps_no_future_messages():
    ei = causal(adelic_edges(20))
    assert np.all(ei[0] <= ei[1])


@pytest.mark.parametrize("bad", [[4], [1], [2, 2], [2.5]])
def test_bad_primes_name_the_argument(bad):
    with pytest.raises(ValueError, match="primes"):
        adelic_edges(10, bad)


def test_bad_n_nodes():
    with pytest.raises(ValueError, match="n_nodes"):
        adelic_edges(0)
