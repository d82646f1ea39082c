"""One table of simulation methods: every consumer reads it, and the memory guard's advice is useful."""

from __future__ import annotations

import pytest

from labkit.nmr_fno import MemoryLimitError, random_system, simulate
from labkit.nmr_fno.methods import METHOD_TABLE, estimate_memory_bytes, method_function, methods_with


def test_every_consumer_reads_the_table():
    from labkit.nmr_fno import plugin
    from labkit.nmr_fno.dataset import DatasetPart
    from labkit.nmr_fno.experiments.classical import ScalingConfig
    from labkit.nmr_fno.experiments.scaling import _CLASSICAL
    from labkit.nmr_fno.simulate import METHODS
    from labkit.nmr_fno.timing import TIMED_METHODS

    assert tuple(METHOD_TABLE) == METHODS
    assert plugin.labkit_simulators() == {m: i.factory for m, i in METHOD_TABLE.items()}
    assert TIMED_METHODS == _CLASSICAL == methods_with("timed") == tuple(ScalingConfig().methods)
    for m in methods_with("dataset"):
        DatasetPart(4, 1, method=m)
    with pytest.raises(ValueError, match="method"):
        DatasetPart(4, 1, method="spinach")


def test_every_method_resolves_and_agrees_on_a_small_system():
    s = random_system(4, "ring", seed=2)
    ref = simulate(s, method="exact")
    for m in METHOD_TABLE:
        assert callable(method_function(m))
        if "optional" in METHOD_TABLE[m].flags:
            continue
        out = simulate(s, method=m)
        assert abs(out["Mx"] - ref["Mx"]).max() < 1e-6, m


@pytest.mark.parametrize("method", ["exact", "exact-full", "dense-expm"])
def test_memory_guard_never_suggests_the_method_in_use(method):
    limit = estimate_memory_bytes(12, method) - 1
    with pytest.raises(MemoryLimitError) as err:
        simulate(random_system(12, seed=0), method=method, max_memory_bytes=limit)
    msg = str(err.value)
    assert f"or the {method!r} method" not in msg and f"or the {method!r} block method" not in msg
    if method != "exact":  # the block method needs far less at N = 12: it is the advice
        assert "'exact' method" in msg
    else:
        assert msg.endswith("use fewer spins")
