"""Config resolution: types coerced, ranges enforced, errors name the field, sections nest."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from labkit.core import ConfigError, LabkitError, build_config, option
from labkit.core.config import config_to_dict, describe, load_config_file


@dataclass
class Qttn:
    rank_truncation: int = option(32, help="max TT rank", min=1)
    svd_tolerance: float = option(1e-6, help="relative tolerance", min=0.0, min_inclusive=False)


@dataclass
class Cfg:
    epochs: int = option(10, help="epochs", min=1)
    lr: float = option(1e-3, help="learning rate", min=0.0, max=1.0, min_inclusive=False)
    topology: str = option("ring", help="graph", choices=("ring", "torus"))
    primes: list[int] = option((2, 3, 5), help="primes")
    amp: bool = option(False, help="mixed precision")
    path: str | None = option(None, help="optional file")
    qttn: Qttn = option(Qttn, help="compression section")


def test_defaults_and_fresh_list_per_instance():
    a, b = build_config(Cfg), build_config(Cfg)
    assert a.primes == [2, 3, 5] and a.primes is not b.primes
    assert a.qttn.rank_truncation == 32


def test_layers_then_overrides_win():
    cfg = build_config(Cfg, layers=[{"epochs": 2, "qttn": {"rank_truncation": 8}}, {"lr": 0.5}],
                       overrides=["epochs=3", "primes=7,11", "amp=true", "qttn.svd_tolerance=1e-3", "path=x.txt"])
    assert (cfg.epochs, cfg.lr, cfg.primes, cfg.amp, cfg.path) == (3, 0.5, [7, 11], True, "x.txt")
    assert (cfg.qttn.rank_truncation, cfg.qttn.svd_tolerance) == (8, 1e-3)
    assert build_config(Cfg, overrides=["primes=[13, 17]", "path=none"]).primes == [13, 17]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("epochs=2.5", "config field 'epochs': expected an integer, got '2.5'"),
        ("epochs=0", "config field 'epochs': must be >= 1; got 0"),
        ("lr=0", "config field 'lr': must be > 0 and <= 1; got 0.0"),
        ("lr=nan", "config field 'lr': must be a number, got NaN"),
        ("topology=cube", "config field 'topology': must be one of 'ring', 'torus'; got 'cube'"),
        ("primes=2,x", "config field 'primes[1]': expected an integer, got 'x'"),
        ("amp=maybe", "config field 'amp': expected a boolean"),
        ("qttn.rank_truncation=0", "config field 'qttn.rank_truncation': must be >= 1; got 0"),
        ("qttn.colour=1", "config field 'qttn.colour': unknown field; the fields are: qttn.rank_truncation, qttn.svd_tolerance"),
        ("epochs.x=1", "config field 'epochs.x': unknown field"),
        ("qttn=3", "config field 'qttn': is a section"),
    ],
)
def test_errors_name_field_and_allowed_values(override, message):
    with pytest.raises(ConfigError) as info:
        build_config(Cfg, overrides=[override])
    assert message in str(info.value)


def test_describe_flattens_sections():
    names = [f.name for f in describe(Cfg)]
    assert names[-2:] == ["qttn.rank_truncation", "qttn.svd_tolerance"]
    lr = next(f for f in describe(Cfg) if f.name == "lr")
    assert (lr.type, lr.default, lr.allowed) == ("float", 1e-3, "> 0 and <= 1")


def test_files_toml_yaml_and_errors(tmp_path):
    (tmp_path / "c.toml").write_text('epochs = 4\n[qttn]\nrank_truncation = 16\n')
    (tmp_path / "c.yaml").write_text("epochs: 5\nqttn:\n  svd_tolerance: 1.0e-4\n")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    (tmp_path / "c.ini").write_text("x")
    assert build_config(Cfg, layers=[load_config_file(tmp_path / "c.toml")]).qttn.rank_truncation == 16
    assert build_config(Cfg, layers=[load_config_file(tmp_path / "c.yaml")]).qttn.svd_tolerance == 1e-4
    with pytest.raises(LabkitError, match="top level must be a table"):
        load_config_file(tmp_path / "list.yaml")
    with pytest.raises(LabkitError, match=r"unknown format '\.ini'"):
        load_config_file(tmp_path / "c.ini")
    with pytest.raises(LabkitError, match="cannot read config file"):
        load_config_file(tmp_path / "absent.toml")


def test_roundtrip_through_dict():
    cfg = build_config(Cfg, overrides=["qttn.rank_truncation=4"])
    assert build_config(Cfg, layers=[config_to_dict(cfg)]) == cfg
