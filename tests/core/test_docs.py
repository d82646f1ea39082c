"""The documentation matches the code: README plugin table, package READMEs, hook reference."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from labkit.core import PluginRegistry

ROOT = Path(__file__).parents[2]


def _entry_points() -> dict[str, str]:
    """CLI name -> distribution, from every package's pyproject."""
    found = {}
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        for name in project.get("entry-points", {}).get("labkit", {}):
            found[name] = project["name"]
    return found


def test_readme_plugin_table_matches_the_entry_points():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| \[`(labkit-[a-z0-9-]+)`\]", readme, flags=re.M)
    assert dict(rows) == _entry_points()


def test_installed_repository_plugins_are_discovered_as_the_readme_says():
    registry = PluginRegistry.discover()
    for name, distribution in _entry_points().items():
        if name in registry.plugins:  # installed in this environment
            assert registry.plugins[name].distribution == distribution


def test_readme_gives_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n *(python3 -m pip install .*)\n *```", readme)
    assert commands == [
        "python3 -m pip install -r requirements.txt && labkit run --all --preset quick",
        "python3 -m pip install -r requirements-test.txt && python3 -m pytest",
    ]  # .ci/run reads and runs these two from README.md (tests/core/test_ci.py)


def test_every_package_has_a_readme_with_its_install_line():
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        readme = (pyproject.parent / "README.md").read_text()
        assert "pip install" in readme and pyproject.parent.name in readme, name
