"""thrml checkerboard block Gibbs against exact enumeration; training reduces the moment gap."""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest

from labkit.son_qttn.ising import IsingImageModel, inpaint, sample_model, train_ising


def test_block_gibbs_moments_match_enumeration():
    m = IsingImageModel.lattice(3, 3)
    rng = np.random.default_rng(0)
    m.biases, m.weights = rng.normal(0, 0.3, 9), rng.normal(0, 0.5, len(m.edges))
    s = sample_model(m, jax.random.PRNGKey(0), n_chains=8, n_warmup=50, n_samples=1000).reshape(-1, 9)
    states = np.array(list(itertools.product([-1, 1], repeat=9)), float)
    p = np.exp(-m.energy(states))
    p /= p.sum()
    i, j = m.edge_index()
    assert np.max(np.abs(s.mean(0) - p @ states)) < 0.04
    assert np.max(np.abs((s[:, i] * s[:, j]).mean(0) - p @ (states[:, i] * states[:, j]))) < 0.04


@pytest.mark.slow  # ~50 s of thrml compile + sampling; the ebm experiment test covers training
def test_training_moves_model_moments_towards_data():
    rng = np.random.default_rng(1)
    # data: vertical stripes, strongly correlated along columns
    cols = rng.random((64, 1, 4)) < 0.5
    data = np.broadcast_to(cols, (64, 4, 4)).reshape(64, 16)
    m = IsingImageModel.lattice(4, 4)
    hist = train_ising(m, data, jax.random.PRNGKey(0), steps=40, lr=0.1, n_chains=16, n_warmup=10, n_samples=10)
    assert np.mean([h["edge_moment_gap"] for h in hist[-5:]]) < 0.5 * hist[0]["edge_moment_gap"]
    i, j = m.edge_index()
    vertical = (j - i) == 4
    assert m.weights[vertical].mean() > m.weights[~vertical].mean() + 0.2
    res = inpaint(m, data[:8], jax.random.PRNGKey(2), n_sweeps=20)
    assert res["error"] < 0.2  # columns are copied down from the clamped top half
