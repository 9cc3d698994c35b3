"""Building a run's settings: engine defaults < the recipe's defaults for the device < CLI flags < `--set key=value`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, get_type_hints

from zoo.core.errors import UsageError
from zoo.core.limits import Limit
from zoo.plugin.config import ENGINE_FIELDS, TrainConfig

_TYPES = get_type_hints(TrainConfig)


def _parse(key: str, text: Any, expected: type) -> Any:
    if not isinstance(text, str):
        return text
    try:
        if expected is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if expected is int:
            return int(text)
        if expected is float:
            return float(text)
    except ValueError:
        shown = text[:60].encode("unicode_escape").decode("ascii")  # one line, whatever the value holds
        raise UsageError(f"--set {key}={shown}: expected {expected.__name__}") from None
    return text


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """`["lr=0.1", "epochs=3"]` -> {"lr": "0.1", "epochs": "3"}."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, got '{pair}'")
        out[key.strip()] = value.strip()
    return out


def build_config(
    defaults: Mapping[str, Any],
    flags: Mapping[str, Any],
    sets: Mapping[str, Any],
    limits: Mapping[str, Limit] | None = None,
) -> TrainConfig:
    """Engine defaults < the recipe's defaults < CLI flags < `--set`; unknown keys list the valid ones; every value
    is checked against its type and range (`limits`: the recipe's own options)."""
    recipe_options = {k: v for k, v in defaults.items() if k not in ENGINE_FIELDS}
    valid = sorted(set(ENGINE_FIELDS) | set(recipe_options))
    values: dict[str, Any] = {k: v for k, v in defaults.items() if k in ENGINE_FIELDS}
    options = dict(recipe_options)
    for source in (flags, sets):
        for key, value in source.items():
            if value is None:
                continue
            if not isinstance(key, str):
                raise UsageError(f"setting names are strings, got {key!r}")
            if key in ENGINE_FIELDS:
                values[key] = _parse(key, value, _TYPES[key])
            elif key in recipe_options:
                default = recipe_options[key]
                options[key] = _parse(key, value, type(default)) if default is not None else value
            else:
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise UsageError(f"unknown setting '{key}'.{hint} Valid settings: {', '.join(valid)}")
    for key, value in values.items():
        values[key] = _typed(key, value, _TYPES[key])
    for key, value in options.items():
        default = recipe_options[key]
        if default is not None:
            options[key] = _typed(key, value, type(default))
    return TrainConfig(**values, options=options).validate(limits)


def _typed(key: str, value: Any, expected: type) -> Any:
    """A value of the setting's type (an int where a float is expected is widened); else a UsageError."""
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise UsageError(f"setting '{key}' expects {expected.__name__}, got {value!r:.60}")
    return value
