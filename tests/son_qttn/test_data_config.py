"""IDX reading (raw/gz, malformed), the shipped YAML config and config validation."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from labkit.core import ConfigError, LabkitError
from labkit.core.config import build_config, config_to_dict, load_config_file
from labkit.son_qttn.config import DEFAULT_YAML, HybridConfig
from labkit.son_qttn.data import IDXFormatError, load_images, read_idx, write_idx


@pytest.mark.parametrize("compress", [False, True])
def test_idx_roundtrip_and_fashion_loader(tmp_path, compress):
    imgs = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    p = tmp_path / ("x.idx.gz" if compress else "x.idx")
    write_idx(p, imgs, compress=compress)
    np.testing.assert_array_equal(read_idx(p), imgs)
    x = load_images("fashion_mnist", path=str(p), n_images=3)
    assert x.shape == (3, 28, 28) and x.max() <= 1.0


@pytest.mark.parametrize("blob, match", [
    (b"\x01\x00\x08\x01", "magic"),
    (b"\x00\x00\x42\x01\x00\x00\x00\x02ab", "type code"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "data bytes"),
])
def test_malformed_idx_named(tmp_path, blob, match):
    p = tmp_path / "bad.idx"
    p.write_bytes(blob)
    with pytest.raises(IDXFormatError, match=match):
        read_idx(p)


def test_corrupt_gzip_named(tmp_path):
    p = tmp_path / "bad.gz"
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x04abcd")[:-6])
    with pytest.raises(IDXFormatError, match="gzip"):
        read_idx(p)


def test_digits_default():
    assert load_images("digits").shape == (1797, 8, 8)


def test_shipped_yaml_equals_defaults():
    cfg = build_config(HybridConfig, layers=[load_config_file(DEFAULT_YAML)])
    assert config_to_dict(cfg) == config_to_dict(build_config(HybridConfig))
    assert cfg.qttn.rank_truncation == 32 and cfg.qttn.svd_tolerance == 1e-6 and cfg.qttn.update_frequency == 10


@pytest.mark.parametrize("override, field", [
    ("network.topology=hexagonal", "network.topology"),
    ("qttn.rank_truncation=0", "qttn.rank_truncation"),
    ("qttn.svd_tolerance=0", "qttn.svd_tolerance"),
    ("precision=float16", "precision"),
    ("network.dt=5", "network.dt"),
    ("dataset=fashion_mnist", "data_path"),
])
def test_bad_config_named(override, field):
    with pytest.raises(ConfigError) as exc:
        build_config(HybridConfig, overrides=[override])
    assert field in str(exc.value)


def test_malformed_yaml_is_clear(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("network: [topology: ring\n")
    with pytest.raises(LabkitError, match="not valid YAML"):
        load_config_file(p)
