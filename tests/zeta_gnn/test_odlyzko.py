"""Zeros cross-checked against Odlyzko's table of the first 2,001,052 zeros (accurate to 4e-9).

The table comes from the PyPI distribution ``passagemath-database-odlyzko-zeta`` (13.5 MB) as a
zlib-compressed pickle of a list of floats; it is read with an unpickler that refuses every
global, so the file cannot run code.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import io
import pickle
import zlib

import numpy as np
import pytest

pytest.importorskip("passagemath_database_odlyzko_zeta")

ODLYZKO_ACCURACY = 4e-9  # the table's stated accuracy
OURS = 1e-9  # zeta_zeros' documented accuracy


class _FloatsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # any global means a foreign file
        raise pickle.UnpicklingError(f"Odlyzko table holds a global {module}.{name}; refusing to load it")


@functools.cache
def odlyzko() -> np.ndarray:
    files = [f for f in md.files("passagemath-database-odlyzko-zeta") or [] if f.name == "zeros.sobj"]
    assert files, "passagemath-database-odlyzko-zeta ships no zeros.sobj"
    raw = zlib.decompress(files[0].locate().read_bytes())
    return np.asarray(_FloatsOnly(io.BytesIO(raw)).load(), dtype=np.float64)


def test_table_is_what_it_says():
    z = odlyzko()
    assert z.size == 2_001_052 and abs(z[12] - 59.347044003) < 1e-12 and np.all(np.diff(z) > 0)


def test_shipped_zeros_match_odlyzko_to_its_accuracy():
    from labkit.zeta_gnn.tables import shipped_zeros

    ours = shipped_zeros()
    assert ours.size >= 20_000
    diff = np.abs(ours - odlyzko()[: ours.size])
    assert diff.max() <= ODLYZKO_ACCURACY + OURS, f"zero {int(diff.argmax()) + 1} differs by {diff.max():.2e}"


@pytest.mark.parametrize("start", [100_000, 1_000_000, 2_001_043])
def test_flint_zeros_match_odlyzko_far_up(start):
    pytest.importorskip("flint")
    from labkit.zeta_gnn.zeros import compute_zeros

    ours = compute_zeros(start, 10, backend="flint", workers=1)
    diff = np.abs(ours - odlyzko()[start - 1 : start + 9])
    assert diff.max() <= ODLYZKO_ACCURACY + OURS
