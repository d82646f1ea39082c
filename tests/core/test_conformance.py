"""The conformance suite of labkit.core.testing over every installed plugin, a sixth plugin for free,
a plugin that breaks every rule, and proof that the suite is opt-in."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labkit.core.testing import conformance_test, write_plugin_distribution

DATA = Path(__file__).parent / "data"

test_installed_plugins = conformance_test()


def _pytest(folder: Path, site: Path, plugins: str, body: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_mine.py").write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=str(site), LABKIT_PLUGINS=plugins, LABKIT_PROGRESS="0")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", "test_mine.py"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def test_the_toy_plugin_gets_the_whole_suite_for_free(plugin_site, tmp_path):
    proc = _pytest(tmp_path, plugin_site, "toy", """
        from labkit.core.testing import conformance_test
        test_toy = conformance_test(plugins=["toy"])
    """)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "7 passed" in proc.stdout  # core's import graph + the six plugin checks


def test_a_plugin_breaking_every_rule_fails_every_check(tmp_path):
    site = tmp_path / "site"
    write_plugin_distribution(site, distribution="labkit-rude", module="labkit_rude",
                              source=(DATA / "labkit_rude.py").read_text(), entry_point="rude")
    work = tmp_path / "work"
    work.mkdir()
    proc = _pytest(work, site, "rude", """
        from labkit.core.testing import conformance_test
        test_rude = conformance_test(plugins=["rude"], core=False)
    """)
    out = proc.stdout
    assert proc.returncode == 1 and "6 failed" in out, out + proc.stderr
    for text in ("loads torch", "preset 'big' do not build", "has no 'quick' preset",
                 "not_defined_anywhere does not resolve", "'labkit_rude:missing' does not resolve",
                 "rude imports labkit.g2_pinn"):
        assert text in out, text


def test_the_suite_is_opt_in(plugin_site, tmp_path):
    proc = _pytest(tmp_path, plugin_site, "toy", """
        def test_users_own():
            assert True
    """)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout


@pytest.mark.parametrize("target", ["core"])
def test_core_check_names_are_validated(target):
    from labkit.core import conformance

    with pytest.raises(ValueError, match="core_import_graph"):
        conformance.check(target, "presets")
    with pytest.raises(ValueError, match="unknown 'nope'"):
        conformance.check("toy", "nope")
