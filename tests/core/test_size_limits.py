"""Size fields of the installed plugins: refused at run start from the experiment's memory estimate, or
validated against the data they index, with one line and no file written (config stays machine-independent)."""

from __future__ import annotations

import pytest

from labkit.core import LabkitError, PluginRegistry
from labkit.core.runner import run_experiment


@pytest.fixture(scope="module")
def registry():
    return PluginRegistry.discover()


@pytest.mark.parametrize(("name", "overrides"), [
    ("zeta-gnn:train", {"n_zeros": 10**12}),
    ("g2-pinn:spectrum", {"n_points": 10**11}),
    ("son-qttn:ebm", {"n_chains": 10**13}),
])
def test_sizes_beyond_memory_are_refused_naming_the_estimate(registry, tmp_path, name, overrides):
    if name.partition(":")[0] not in registry.plugins:
        pytest.skip(f"{name} is not installed")
    experiment = registry.experiment(name).experiment
    assert experiment.make_config(overrides=overrides)  # the config itself stays valid on any machine
    with pytest.raises(LabkitError, match=r"needs about [\d.]+ [KMGTP]i?B of memory \(estimate\), more than the"):
        run_experiment(registry, name, overrides=overrides, out_dir=tmp_path / "r", device="cpu", echo=False)
    assert not (tmp_path / "r").exists()
    default = experiment.estimate_memory(experiment.make_config(preset="quick" if "quick" in experiment.presets else None))
    assert 0 < default < 2**31  # the quick preset fits any laptop


def test_more_digits_than_exist_is_refused_not_clamped(registry, tmp_path):
    if "son-qttn" not in registry.plugins:
        pytest.skip("son-qttn is not installed")
    for name in ("son-qttn:compress", "son-qttn:hybrid", "son-qttn:ebm"):
        with pytest.raises(LabkitError, match=r"config field 'n_images': the digits set holds 1797 images; got 100000000"):
            run_experiment(registry, name, overrides={"n_images": "1e8"}, out_dir=tmp_path / "r", echo=False)
    assert not (tmp_path / "r").exists()
