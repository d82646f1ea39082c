"""Zeros: known values to 1e-9, flint vs mpmath, shipped table, cache durability, text tables, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.zeta_gnn import zeros as zmod
from labkit.zeta_gnn._cache import ZeroCache
from labkit.zeta_gnn.tables import ZeroTableError, read_zero_table, shipped_zeros, write_zero_table
from labkit.zeta_gnn.zeros import compute_zeros, zeta_zeros

# Odlyzko's table (zeros1), 20+ digits
KNOWN = [14.134725141734693790, 21.022039638771554993, 25.010857580145688763, 30.424876125859513210,
         32.935061587739189691]


def test_first_zeros_to_1e9():
    np.testing.assert_allclose(zeta_zeros(1, 5), KNOWN, rtol=0, atol=1e-9)
    np.testing.assert_allclose(compute_zeros(1, 5, backend="flint", workers=1), KNOWN, rtol=0, atol=1e-9)


def test_flint_and_mpmath_backends_agree():
    f = compute_zeros(1000, 3, backend="flint", workers=1)
    m = compute_zeros(1000, 3, backend="mpmath", workers=1)
    np.testing.assert_allclose(f, m, rtol=0, atol=1e-9)


@pytest.mark.slow
def test_flint_and_mpmath_agree_beyond_the_table():
    n = shipped_zeros().size + 7
    f = zeta_zeros(n, 2, backend="flint", use_cache=False, workers=2)
    m = zeta_zeros(n, 2, backend="mpmath", use_cache=False, workers=2)
    np.testing.assert_allclose(f, m, rtol=0, atol=1e-9)


@pytest.mark.slow
def test_high_index_zero_with_mpmath():
    # near n = 1e6 the flint precision rule must still give 1e-9
    np.testing.assert_allclose(compute_zeros(1_000_000, 1, backend="flint"),
                               compute_zeros(1_000_000, 1, backend="mpmath"), rtol=0, atol=1e-9)


def test_shipped_table_is_what_the_generator_makes():
    table = shipped_zeros()
    assert table.size >= 10_000 and np.all(np.diff(table) > 0)
    for start in (1000, table.size - 9):
        np.testing.assert_allclose(table[start - 1 : start + 9], compute_zeros(start, 10, backend="flint", workers=1),
                                   rtol=0, atol=1e-11)
    # one independent spot check with mpmath
    np.testing.assert_allclose(table[2999], zeta_zeros(3000, 1, backend="mpmath", use_cache=False), atol=1e-9)


def _counting(monkeypatch, fail_at: int | None = None) -> list[int]:
    calls: list[int] = []
    real = zmod._flint_zeros

    def wrapped(start: int, count: int) -> np.ndarray:
        if fail_at is not None and start == fail_at:
            raise KeyboardInterrupt("simulated kill")
        calls.append(start)
        return real(start, count)

    monkeypatch.setattr(zmod, "_flint_zeros", wrapped)
    return calls


def test_cache_survives_interruption_and_is_reused(tmp_path, monkeypatch):
    base = shipped_zeros().size
    start = base + 1
    _counting(monkeypatch, fail_at=base + 21)
    with pytest.raises(KeyboardInterrupt):
        zeta_zeros(start, 30, cache_dir=tmp_path, chunk_size=10, workers=1)
    cache = ZeroCache(tmp_path, 10, "flint")
    assert cache.chunks() == [base // 10, base // 10 + 1]  # the two finished chunks are on disk
    assert not list(cache.directory.glob("*.tmp"))
    monkeypatch.undo()
    calls2 = _counting(monkeypatch)
    got = zeta_zeros(start, 30, cache_dir=tmp_path, chunk_size=10, workers=1)
    assert calls2 == [base + 21]  # only the missing chunk is computed after the "kill"
    got2 = zeta_zeros(start + 5, 20, cache_dir=tmp_path, chunk_size=10, workers=1)
    assert calls2 == [base + 21]  # fully cached now
    np.testing.assert_array_equal(got2, got[5:25])
    monkeypatch.undo()
    np.testing.assert_allclose(got, compute_zeros(start, 30, backend="flint", workers=1), rtol=0, atol=0)


def test_corrupt_chunk_is_detected_and_recomputed(tmp_path, monkeypatch):
    base = shipped_zeros().size
    good = zeta_zeros(base + 1, 10, cache_dir=tmp_path, chunk_size=10, workers=1)
    path = ZeroCache(tmp_path, 10, "flint").path(base // 10)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    calls = _counting(monkeypatch)
    with pytest.warns(UserWarning, match="corrupt"):
        again = zeta_zeros(base + 1, 10, cache_dir=tmp_path, chunk_size=10, workers=1)
    assert calls == [base + 1]
    np.testing.assert_array_equal(again, good)


def test_env_var_chooses_the_cache(tmp_path, monkeypatch):
    from labkit.zeta_gnn._cache import default_cache_dir

    monkeypatch.setenv("LABKIT_ZETA_CACHE", str(tmp_path / "zc"))
    assert default_cache_dir() == tmp_path / "zc"


@pytest.mark.parametrize("start,count,field", [(0, 1, "start"), (1, 0, "count"), (-3, 5, "start"), (1.5, 1, "start")])
def test_bad_ranges_name_the_argument(start, count, field):
    with pytest.raises(ValueError, match=field):
        zeta_zeros(start, count)


def test_bad_backend():
    with pytest.raises(ValueError, match="backend"):
        zeta_zeros(1, 1, backend="arb")


def test_text_table_round_trip(tmp_path):
    z = shipped_zeros()[:100]
    p = write_zero_table(tmp_path / "z.txt", z, header="first 100")
    np.testing.assert_allclose(read_zero_table(p), z, rtol=0, atol=1e-12)


@pytest.mark.parametrize("text,needle", [
    ("14.1\n21.0\nabc\n", "line 3: not a number"),
    ("14.1\n21.0\n20.5\n", "line 3: not increasing"),
    ("14.1\n\n# c\n14.1\n", "line 4: not increasing"),
    ("14.1 21.0\n", "line 1: expected one number"),
    ("nan\n", "line 1: ordinate must be finite"),
    ("# only a comment\n", "no ordinates"),
])
def test_malformed_tables_name_the_line(tmp_path, text, needle):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(ZeroTableError, match=needle):
        read_zero_table(p)


def test_missing_table_file(tmp_path):
    with pytest.raises(ZeroTableError, match="no such file"):
        read_zero_table(tmp_path / "nope.txt")


def test_writer_refuses_unsorted(tmp_path):
    with pytest.raises(ValueError, match="not increasing at entry 2"):
        write_zero_table(tmp_path / "z.txt", np.array([1.0, 2.0, 1.5]))
