"""Config validation before anything runs: each dataclass field against its annotated type and a range table.

``check(cfg, "env", RANGES)`` raises ``ConfigError("env.sim.dt must be > 0, got -0.005")``: the field's path,
what it accepts, what it got, on one line.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable


class ConfigError(ValueError):
    """A config field of the wrong type or out of its range."""


Rule = tuple[Callable[[object], bool], str]

POSITIVE: Rule = (lambda v: v > 0, "must be > 0")
NON_NEGATIVE: Rule = (lambda v: v >= 0, "must be >= 0")
AT_LEAST_ONE: Rule = (lambda v: v >= 1, "must be >= 1")
UNIT: Rule = (lambda v: 0 <= v <= 1, "must be in [0, 1]")
DISCOUNT: Rule = (lambda v: 0 < v <= 1, "must be in (0, 1]")
ORDERED: Rule = (lambda v: len(v) == 2 and v[0] <= v[1], "must be (lo, hi) with lo <= hi")


def _type_ok(value: object, hint) -> bool:
    """A loose isinstance against a type hint (ints pass for floats; containers checked one level)."""
    if hint is typing.Any or hint is object:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if origin is tuple and len(args) > 1 and Ellipsis not in typing.get_args(hint):
            return len(value) == len(args) and all(_type_ok(v, a) for v, a in zip(value, args))
        return all(_type_ok(v, args[0]) for v in value) if args else True
    if origin is dict:
        return isinstance(value, dict)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    try:
        return isinstance(value, origin or hint)
    except TypeError:
        return True


def check(cfg: object, path: str, rules: dict[str, Rule]) -> None:
    """Walk the dataclass tree; type-check every field and apply ``rules`` (keyed by dotted path below ``path``)."""
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        where = f"{path}.{f.name}"
        if not _type_ok(value, hints[f.name]):
            raise ConfigError(f"{where} must be of type {_name(hints[f.name])}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where} must be finite, got {value}")
        rule = rules.get(where.split(".", 1)[1] if "." in where else where)
        if rule is not None and value is not None and not rule[0](value):
            raise ConfigError(f"{where} {rule[1]}, got {value!r}")
        if dataclasses.is_dataclass(value):
            check(value, where, rules)


def _name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
