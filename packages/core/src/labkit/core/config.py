"""Typed experiment configs: dataclass fields with ranges, merged defaults <- preset <- file <- --set.

A config is a dataclass whose fields are declared with :func:`option`; nested dataclasses
are sections (``--set qttn.rank_truncation=16``). Values are coerced from strings and
checked against the declared range or choices, and the optional ``validate()`` method of
the dataclass runs last for cross-field checks.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Cfg:
    ...     epochs: int = option(10, help="training epochs", min=1)
    >>> build_config(Cfg, overrides=["epochs=3"]).epochs
    3
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from labkit.core._errors import ConfigError, LabkitError

_META = "labkit"


def option(
    default: Any,
    *,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
    choices: Sequence[Any] | None = None,
) -> Any:
    """Declare a config field with a default, a help text and an allowed range or set of choices.

    Sequence defaults are stored as lists (a fresh copy per instance).

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Cfg:
        ...     lr: float = option(1e-3, help="learning rate", min=0.0, min_inclusive=False)
    """
    meta = {
        "help": help,
        "min": min,
        "max": max,
        "min_inclusive": min_inclusive,
        "max_inclusive": max_inclusive,
        "choices": tuple(choices) if choices is not None else None,
    }
    if isinstance(default, (list, tuple)):
        frozen = list(default)
        return dataclasses.field(default_factory=lambda: list(frozen), metadata={_META: meta})
    if dataclasses.is_dataclass(default) and isinstance(default, type):
        return dataclasses.field(default_factory=default, metadata={_META: meta})
    return dataclasses.field(default=default, metadata={_META: meta})


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """A flattened description of one config field, as ``labkit info`` shows it."""

    name: str
    type: str
    default: Any
    help: str
    allowed: str


def describe(config_class: type) -> list[FieldInfo]:
    """Return every (flattened, dotted) field of ``config_class`` with its type, default and range."""
    infos: list[FieldInfo] = []
    hints = typing.get_type_hints(config_class)
    instance = config_class()
    for f in dataclasses.fields(config_class):
        tp = hints[f.name]
        if _is_dataclass_type(tp):
            for sub in describe(tp):
                infos.append(dataclasses.replace(sub, name=f"{f.name}.{sub.name}"))
            continue
        meta = f.metadata.get(_META, {})
        infos.append(FieldInfo(f.name, _type_name(tp), getattr(instance, f.name), meta.get("help", ""), _allowed(meta)))
    return infos


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) config file into a nested dict."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise LabkitError(f"cannot read config file {str(p)!r}: {exc.strerror or exc}") from None
    suffix = p.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(raw.decode("utf-8"))
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(raw.decode("utf-8")) or {}
        elif suffix == ".json":
            data = json.loads(raw)
        else:
            raise LabkitError(f"config file {str(p)!r}: unknown format {suffix!r}; use .toml, .yaml, .yml or .json")
    except LabkitError:
        raise
    except Exception as exc:  # parser errors carry the line; pass them on verbatim
        raise LabkitError(f"config file {str(p)!r} is not valid {suffix.lstrip('.').upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise LabkitError(f"config file {str(p)!r}: the top level must be a table/mapping, got {type(data).__name__}")
    return data


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """Turn ``["a=1", "s.b=x"]`` into ``{"a": "1", "s.b": "x"}``, refusing items without ``=``."""
    out: dict[str, str] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise LabkitError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def build_config(
    config_class: type,
    *,
    layers: Sequence[Mapping[str, Any]] = (),
    overrides: Sequence[str] | Mapping[str, Any] = (),
) -> Any:
    """Build and validate a config: defaults, then each layer (preset, file...), then overrides.

    Layers are nested mappings (a section is a sub-mapping) or flat dotted keys; overrides
    are ``key=value`` strings or a mapping. Unknown keys are refused listing the fields.
    """
    values: dict[str, Any] = {}
    for layer in layers:
        values.update(_flatten(layer))
    over = parse_overrides(overrides) if not isinstance(overrides, Mapping) else dict(overrides)
    values.update(over)
    config = _instantiate(config_class, values, prefix="")
    validate_config(config)
    return config


def validate_config(config: Any, prefix: str = "") -> None:
    """Check every field's range/choices, then call ``validate()`` of each (nested) config."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        name = prefix + f.name
        if _is_dataclass_type(hints[f.name]):
            validate_config(value, prefix=name + ".")
            continue
        _check_range(name, value, f.metadata.get(_META, {}))
    check = getattr(config, "validate", None)
    if callable(check):
        check()


def config_to_dict(config: Any) -> dict[str, Any]:
    """Nested plain-dict form of a config (what ``config.json`` holds)."""
    return dataclasses.asdict(config)


def coerce(name: str, tp: Any, value: Any) -> Any:
    """Convert ``value`` (a string from the CLI or a parsed file value) to the field type ``tp``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null", ""))
        if is_none and len(args) < len(typing.get_args(tp)):
            return None
        errors = []
        for arg in args:
            try:
                return coerce(name, arg, value)
            except ConfigError as exc:
                errors.append(exc.reason)
        raise ConfigError(name, "; ".join(errors))
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        (item_tp,) = typing.get_args(tp)[:1] or (str,)
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ConfigError(name, f"expected a list like [1, 2] or 1,2; {exc}") from None
            else:
                value = [v.strip() for v in text.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(name, f"expected a list of {_type_name(item_tp)}, got {value!r}")
        return [coerce(f"{name}[{i}]", item_tp, v) for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise ConfigError(name, f"expected a boolean (true/false), got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(name, f"expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.replace("_", ""))
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
        raise ConfigError(name, f"expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(name, f"expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(name, f"expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(name, f"expected a string, got {value!r}")
        return str(value)
    if tp is Any:
        return value
    raise ConfigError(name, f"unsupported field type {_type_name(tp)}")


def _instantiate(cls: type, values: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    mine: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        head, dot, rest = key.partition(".")
        if head not in names or (dot and not _is_dataclass_type(hints[head])):
            raise ConfigError(prefix + key, f"unknown field; the fields are: {', '.join(i.name for i in describe_fields(cls, prefix))}")
        if dot:
            nested.setdefault(head, {})[rest] = value
        elif _is_dataclass_type(hints[head]):
            if not isinstance(value, Mapping):
                raise ConfigError(prefix + key, f"is a section; set its fields as {prefix}{key}.<field>")
            nested.setdefault(head, {}).update(_flatten(value))
        else:
            mine[head] = coerce(prefix + head, hints[head], value)
    for head, sub in nested.items():
        mine[head] = _instantiate(hints[head], sub, prefix=f"{prefix}{head}.")
    return cls(**mine)


def describe_fields(cls: type, prefix: str = "") -> list[FieldInfo]:
    """:func:`describe` with every name prefixed (for messages about nested sections)."""
    return [dataclasses.replace(i, name=prefix + i.name) for i in describe(cls)]


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_range(name: str, value: Any, meta: Mapping[str, Any]) -> None:
    choices = meta.get("choices")
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is None:
            continue
        if choices is not None and item not in choices:
            raise ConfigError(name, f"must be one of {', '.join(map(repr, choices))}; got {item!r}")
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if item != item:  # NaN passes every comparison; refuse it explicitly
                raise ConfigError(name, f"must be a number, got NaN ({_allowed(meta) or 'any finite number'})")
            if item in (math.inf, -math.inf):  # no option means "unbounded" by inf: a size or rate of inf is a typo
                raise ConfigError(name, f"must be a finite number ({_allowed(meta) or 'any finite number'}); got {item!r}")
            lo, hi = meta.get("min"), meta.get("max")
            if lo is not None and (item < lo or (item == lo and not meta.get("min_inclusive", True))):
                raise ConfigError(name, f"must be {_allowed(meta)}; got {item!r}")
            if hi is not None and (item > hi or (item == hi and not meta.get("max_inclusive", True))):
                raise ConfigError(name, f"must be {_allowed(meta)}; got {item!r}")


def _allowed(meta: Mapping[str, Any]) -> str:
    if meta.get("choices") is not None:
        return "one of " + ", ".join(map(str, meta["choices"]))
    lo, hi = meta.get("min"), meta.get("max")
    parts = []
    if lo is not None:
        parts.append((">= " if meta.get("min_inclusive", True) else "> ") + f"{lo:g}")
    if hi is not None:
        parts.append(("<= " if meta.get("max_inclusive", True) else "< ") + f"{hi:g}")
    return " and ".join(parts)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")
