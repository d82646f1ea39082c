"""Regenerate the shipped table of the first zeros: ``python -m labkit.zeta_gnn.make_table [COUNT]``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from labkit.zeta_gnn.tables import SHIPPED_FILE
from labkit.zeta_gnn.zeros import compute_zeros


def main(count: int = 20_000) -> Path:
    """Compute zeros 1..count with the flint backend and write ``data/zeros_first.npz``."""
    import io

    from labkit.core.atomic import atomic_write_bytes

    zeros = compute_zeros(1, count, backend="flint", chunk_size=1000)
    buf = io.BytesIO()
    np.savez_compressed(buf, zeros=zeros)
    return atomic_write_bytes(Path(__file__).parent / "data" / SHIPPED_FILE, buf.getvalue())


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
