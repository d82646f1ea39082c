"""Classical simulation runs without torch (a CPU user needs numpy and scipy only).

That the plugin module and its experiment list import no torch is the conformance suite's job
(tests/core/test_conformance.py).
"""

from __future__ import annotations

import subprocess
import sys


def test_classical_simulation_does_not_load_torch() -> None:
    code = (
        "import sys\n"
        "from labkit.nmr_fno import simulate, random_system\n"
        "simulate(random_system(3, seed=0))\n"
        "heavy = [m for m in ('torch', 'jax') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
