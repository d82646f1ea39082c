"""A pytest plugin for labkit and its plugin authors (auto-loaded through the ``pytest11`` entry point).

Fixtures:
    ``tmp_run_dir``   a fresh run folder path (not yet created)
    ``labkit_seed``   the seed tests should use (0)
    ``labkit_device`` ``cpu`` unless ``--labkit-device cuda`` is given
    ``labkit_run``    runs an experiment through the real runner and returns its results dict

Helpers:
    :func:`write_plugin_distribution` installs a tiny plugin distribution into a folder
    (a real ``.dist-info`` with an ``entry_points.txt``), so discovery can be tested through
    genuine entry points by putting that folder on ``sys.path``/``PYTHONPATH``.

    :func:`conformance_test` is the conformance suite for plugin authors (see
    :mod:`labkit.core.conformance`). It is opt-in: nothing runs in a pytest session until a test
    module of yours assigns it::

        from labkit.core.testing import conformance_test

        test_labkit_conformance = conformance_test()            # every installed plugin
        test_my_plugin = conformance_test(plugins=["my-plugin"])  # or only yours
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labkit")
    group.addoption("--labkit-device", default="cpu", choices=("cpu", "cuda"), help="device for labkit experiment tests")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running test, deselected by default")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU, deselected by default")


@pytest.fixture
def tmp_run_dir(tmp_path: Path) -> Path:
    """A run folder path inside the test's temporary directory."""
    return tmp_path / "run"


@pytest.fixture
def labkit_seed() -> int:
    """The seed experiment tests use."""
    return 0


@pytest.fixture
def labkit_device(request: pytest.FixtureRequest) -> str:
    """``cpu`` or, with ``--labkit-device cuda``, ``cuda``."""
    return str(request.config.getoption("--labkit-device"))


@pytest.fixture
def labkit_run(tmp_path: Path, labkit_device: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """Run ``plugin:experiment`` in-process through the real registry and runner.

    Example::

        def test_quick(labkit_run):
            results = labkit_run("zeta-gnn:train", preset="quick")
            assert results["headline"]["rmse_model"] > 0
    """
    monkeypatch.setenv("LABKIT_PROGRESS", "0")

    def run(
        full_name: str,
        preset: str | None = "quick",
        overrides: Sequence[str] | Mapping[str, Any] = (),
        out_dir: Path | None = None,
        resume: bool = False,
        device: str | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        from labkit.core.plugins import PluginRegistry
        from labkit.core.runner import run_experiment

        registry = PluginRegistry.discover()
        target = out_dir if out_dir is not None else tmp_path / full_name.replace(":", "-")
        outcome = run_experiment(registry, full_name, preset=preset, overrides=overrides, out_dir=target,
                                 resume=resume, device=device or labkit_device, seed=seed, echo=False)
        return outcome.results

    return run


def write_plugin_distribution(
    site: Path,
    *,
    distribution: str,
    module: str,
    source: str,
    entry_point: str,
    version: str = "0.1.0",
    group: str = "labkit",
) -> Path:
    """Write module ``module`` and a ``<distribution>-<version>.dist-info`` registering it under ``group``.

    Example::

        write_plugin_distribution(tmp_path, distribution="labkit-toy", module="labkit_toy",
                                  source="...", entry_point="toy")
        # then run with PYTHONPATH=tmp_path, or sys.path.insert(0, str(tmp_path))
    """
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    normalized = distribution.replace("-", "_")
    info = site / f"{normalized}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry_point} = {module}\n")
    (info / "RECORD").write_text("")
    return info


def conformance_test(plugins: Sequence[str] | None = None, *, core: bool = True) -> Callable[[str, str], None]:
    """A pytest test function, parametrized over (plugin, check), that runs the conformance checks.

    ``plugins``: the plugin (entry point) names to check; default every installed one. ``core``:
    include labkit-core's own import-graph check. Assign the result to a ``test_*`` name in a test module.
    """
    from labkit.core import conformance
    from labkit.core.plugins import PluginRegistry

    registry = PluginRegistry.discover()
    chosen = [(t, c) for t, c in conformance.cases(registry)
              if (t == conformance.CORE and core) or (t != conformance.CORE and (plugins is None or t in plugins))]
    if plugins is not None:
        chosen += [(p, c) for p in plugins if p not in registry.plugins for c in conformance.PLUGIN_CHECKS]

    @pytest.mark.parametrize(("target", "check_name"), chosen, ids=[f"{t}-{c}" for t, c in chosen])
    def test_conformance(target: str, check_name: str) -> None:
        problems = conformance.check(target, check_name)
        assert not problems, "\n".join(problems)

    return test_conformance
