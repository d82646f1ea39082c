"""SpinSystem construction, parameter vectors, random generators and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.nmr_fno import SpinSystem, n_params, random_system


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # small matrices on a shared 2-core machine: multi-threaded BLAS only spins (10x the CPU time)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def test_vector_round_trip_and_ppm() -> None:
    s = random_system(6, "random", seed=3)
    v = s.to_vector()
    assert v.shape == (n_params(6),) == (21,)
    assert SpinSystem.from_vector(v) == s
    p = SpinSystem.from_ppm([1.0, 2.5], [[0, 7.0], [7.0, 0]], spectrometer_mhz=600.0)
    np.testing.assert_allclose(p.offsets_hz, [600.0, 1500.0])


@pytest.mark.parametrize("topology,edges", [("chain", 5), ("ring", 6), ("star", 5)])
def test_topologies_have_their_edges(topology: str, edges: int) -> None:
    s = random_system(6, topology, seed=1, j_range=(5.0, 20.0))
    j = s.couplings_hz
    assert np.count_nonzero(np.triu(j, 1)) == edges
    nz = j[j != 0]
    assert nz.min() >= 5.0 and nz.max() <= 20.0
    if topology == "star":
        assert np.count_nonzero(j[0]) == 5


def test_random_topology_connected_and_seeded() -> None:
    a, b, c = (random_system(8, "random", seed=s) for s in (4, 4, 5))
    assert a == b and a != c
    adj = a.couplings_hz != 0
    reach = {0}
    for _ in range(8):
        reach |= {j for i in reach for j in np.nonzero(adj[i])[0]}
    assert reach == set(range(8))
    offs = a.offsets_hz
    assert offs.min() >= -100 and offs.max() <= 100


@pytest.mark.parametrize(
    "offsets,couplings,match",
    [
        ([1.0, 2.0], [[0, 1.0], [2.0, 0]], "symmetric"),
        ([1.0, 2.0], [[0, np.nan], [np.nan, 0]], "finite"),
        ([1.0, np.inf], None, "finite"),
        ([1.0, 2.0, 3.0], [[0, 1.0], [1.0, 0]], "3x3"),
        ([[1.0, 2.0]], None, "1-D"),
        ([1.0, 2.0], [[1.0, 1.0], [1.0, 0]], "diagonal"),
    ],
)
def test_bad_systems_are_refused(offsets, couplings, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SpinSystem(offsets, couplings)


def test_bad_generator_arguments() -> None:
    with pytest.raises(ValueError, match="topology"):
        random_system(4, "torus")
    with pytest.raises(ValueError, match="n_spins"):
        random_system(0)
    with pytest.raises(ValueError, match="j_range"):
        random_system(4, j_range=(5.0, 1.0))
    with pytest.raises(ValueError, match="spectrometer_mhz"):
        SpinSystem.from_ppm([1.0], None, spectrometer_mhz=-1.0)
    with pytest.raises(ValueError, match="parameters"):
        SpinSystem.from_vector(np.zeros(5), n_spins=3)
