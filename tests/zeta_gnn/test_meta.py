"""The plugin and the experiment declarations stay light; the namespace layout is right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_plugin_import_pulls_no_heavy_modules():
    code = ("import sys, labkit.zeta_gnn.plugin as p, labkit.zeta_gnn.experiments, labkit.zeta_gnn;"
            "p.labkit_experiments();"
            "bad = [m for m in ('torch', 'flint', 'torch_geometric', 'jax', 'pymetis', 'scipy') if m in sys.modules];"
            "print(bad); assert not bad, bad")
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)


def test_no_namespace_init():
    import labkit.zeta_gnn

    src = Path(labkit.zeta_gnn.__file__).parent.parent
    assert not (src / "__init__.py").exists()


def test_lazy_exports_resolve():
    import labkit.zeta_gnn as z

    for name in z.__all__:
        assert getattr(z, name) is not None
