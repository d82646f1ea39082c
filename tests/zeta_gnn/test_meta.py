"""The plugin and the experiment declarations stay light; the namespace layout is right."""

from __future__ import annotations

from pathlib import Path


def test_no_namespace_init():
    import labkit.zeta_gnn

    src = Path(labkit.zeta_gnn.__file__).parent.parent
    assert not (src / "__init__.py").exists()
