"""The package, its plugin module and the classical experiments import without torch (fast `labkit list`)."""

from __future__ import annotations

import subprocess
import sys


def test_light_imports_do_not_load_torch() -> None:
    code = (
        "import sys\n"
        "import labkit.nmr_fno, labkit.nmr_fno.plugin, labkit.nmr_fno.experiments.classical\n"
        "from labkit.nmr_fno import simulate, random_system\n"
        "simulate(random_system(3, seed=0))\n"
        "heavy = [m for m in ('torch', 'jax') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
