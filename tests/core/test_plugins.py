"""Discovery through real entry points: good plugins load, broken ones are reported, never fatal."""

from __future__ import annotations

import pytest

from labkit.core import LabkitError, PluginRegistry, hookimpl
from labkit.core.experiment import Experiment


def test_discovers_installed_plugin_with_version(with_plugins):
    registry = PluginRegistry.discover()
    toy = registry.plugins["toy"]
    assert (toy.distribution, toy.version, toy.ok) == ("labkit-toy", "1.2.3", True)
    assert "toy:accumulate" in registry.experiments()
    assert registry.flagships()["toy"].full_name == "toy:accumulate"


def test_broken_plugin_is_reported_and_others_still_work(with_plugins):
    registry = PluginRegistry.discover()
    broken = registry.plugins["broken"]
    assert not broken.ok
    assert "labkit_this_dependency_does_not_exist" in broken.error
    assert broken in registry.failures()
    assert registry.experiment("toy:accumulate").experiment.name == "accumulate"
    with pytest.raises(LabkitError, match="plugin 'broken' failed to load"):
        registry.experiment("broken:anything")


def test_disable_and_only_env_vars(with_plugins, monkeypatch):
    monkeypatch.setenv("LABKIT_DISABLE_PLUGINS", "broken")
    assert "broken" not in PluginRegistry.discover().plugins
    monkeypatch.delenv("LABKIT_DISABLE_PLUGINS")
    monkeypatch.setenv("LABKIT_PLUGINS", "toy")
    assert set(PluginRegistry.discover().plugins) == {"toy"}


def test_unknown_names_list_what_is_available(with_plugins, monkeypatch):
    monkeypatch.setenv("LABKIT_PLUGINS", "toy,broken")
    registry = PluginRegistry.discover()
    with pytest.raises(LabkitError, match=r"unknown plugin 'nope'; installed plugins: broken, toy"):
        registry.experiment("nope:x")
    with pytest.raises(LabkitError, match=r"plugin 'toy' has no experiment 'x'; its experiments: toy:accumulate, toy:fails"):
        registry.experiment("toy:x")
    with pytest.raises(LabkitError, match="PLUGIN:EXPERIMENT"):
        registry.experiment("accumulate")


def test_lazy_factories_resolve_by_full_or_bare_name(with_plugins, monkeypatch):
    monkeypatch.setenv("LABKIT_PLUGINS", "toy")
    registry = PluginRegistry.discover()
    assert registry.resolve("labkit_simulators", "square")(3) == 9
    assert registry.resolve("labkit_simulators", "toy:square")(4) == 16
    with pytest.raises(LabkitError, match="simulator 'cube' is not registered; available: toy:square"):
        registry.resolve("labkit_simulators", "cube")


class _Exp(Experiment):
    name = "same"
    config_class = dict

    def run(self, ctx):
        return {}


class _DuplicatePlugin:
    @hookimpl
    def labkit_experiments(self):
        return [_Exp, _Exp]


class _RaisingPlugin:
    @hookimpl
    def labkit_experiments(self):
        raise RuntimeError("boom")


class _TwoFlagships:
    @hookimpl
    def labkit_experiments(self):
        a = type("A", (_Exp,), {"name": "a", "flagship": True})
        b = type("B", (_Exp,), {"name": "b", "flagship": True})
        return [a, b]


class _Good:
    @hookimpl
    def labkit_experiments(self):
        return [_Exp]


@pytest.mark.parametrize(
    ("plugin", "message"),
    [(_DuplicatePlugin(), "registered twice"), (_RaisingPlugin(), "raised RuntimeError: boom"), (_TwoFlagships(), "more than one")],
)
def test_bad_hook_results_isolate_the_plugin(plugin, message):
    registry = PluginRegistry()
    registry.add("bad", plugin)
    registry.add("good", _Good())
    assert list(registry.experiments()) == ["good:same"]
    assert message in registry.plugins["bad"].error


def test_a_hookimpl_without_spec_is_refused():
    class Typo:
        @hookimpl
        def labkit_experiment(self):  # missing "s"
            return []

    registry = PluginRegistry()
    with pytest.raises(Exception, match="unknown hook 'labkit_experiment'"):
        registry.add("typo", Typo())
    assert "typo" not in registry.plugins


def test_every_hookspec_is_documented_in_core_readme():
    import inspect
    from pathlib import Path

    from labkit.core import hookspecs

    readme = (Path(__file__).parents[2] / "packages" / "core" / "README.md").read_text()
    specs = [n for n, f in vars(hookspecs).items() if n.startswith("labkit_") and callable(f)]
    assert len(specs) == 6
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name))
        assert doc and "Called" in doc, f"{name} lacks a docstring saying when it is called"
        assert name in readme, f"{name} missing from packages/core/README.md"


def _rival_cli(rival_site, tmp_path, *args, **env):
    import os
    import subprocess
    import sys

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    full_env.update(PYTHONPATH=str(rival_site), LABKIT_PROGRESS="0", **env)
    return subprocess.run([sys.executable, "-m", "labkit.core.cli", *args], cwd=tmp_path, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_a_plugin_name_claimed_by_two_distributions_is_refused_naming_both(rival_site, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(rival_site))
    registry = PluginRegistry.discover()
    toy = registry.plugins["toy"]
    assert not toy.ok and "labkit-toy 1.2.3" in toy.error and "labkit-impostor 6.6.6" in toy.error
    assert "LABKIT_DISABLE_PLUGINS=toy@" in toy.error
    with pytest.raises(LabkitError, match="plugin 'toy' failed to load: plugin name 'toy' is registered by"):
        registry.experiment("toy:accumulate")
    proc = _rival_cli(rival_site, tmp_path, "run", "toy:accumulate", "--preset", "quick", "--out", "r")
    assert proc.returncode == 2 and "labkit-impostor" in proc.stderr and not (tmp_path / "r").exists()

    monkeypatch.setenv("LABKIT_DISABLE_PLUGINS", "toy@labkit-impostor")
    assert PluginRegistry.discover().experiment("toy:accumulate").experiment.summary.startswith("Adds numpy")
    monkeypatch.delenv("LABKIT_DISABLE_PLUGINS")
    monkeypatch.setenv("LABKIT_PLUGINS", "toy@Labkit_Impostor")  # distribution names compare normalised
    registry = PluginRegistry.discover()
    assert set(registry.plugins) == {"toy"} and registry.plugins["toy"].distribution == "labkit-impostor"


def test_system_exit_at_plugin_import_is_isolated(rival_site, tmp_path):
    listed = _rival_cli(rival_site, tmp_path, "list", LABKIT_DISABLE_PLUGINS="toy@labkit-impostor")
    assert listed.returncode == 0 and "failed exits" in listed.stdout and "SystemExit" in listed.stdout
    ran = _rival_cli(rival_site, tmp_path, "run", "toy:accumulate", "--preset", "quick", "--out", "r",
                     LABKIT_DISABLE_PLUGINS="toy@labkit-impostor")
    assert ran.returncode == 0, ran.stderr
    assert "plugin exits (labkit-exits) failed to load: SystemExit" in ran.stderr
    assert (tmp_path / "r" / "results.json").is_file()
