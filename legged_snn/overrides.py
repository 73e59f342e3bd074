"""``--cfg KEY=VALUE``: set any field of the task's configs from the command line (dotted path, YAML value).

    --cfg algorithm.entropy_coef=0.005 --cfg policy.snn.neuron.surrogate=fast_sigmoid --cfg rewards.scales.torques=0

The first name picks the config: a field of the train config (policy, algorithm, runner, distill) or of the env
config (env, rewards, commands, ...). Paths walk dataclass fields and dict keys; only existing keys can be set.
"""

from __future__ import annotations

import dataclasses

import yaml


def _children(node) -> list[str]:
    if dataclasses.is_dataclass(node):
        return [f.name for f in dataclasses.fields(node)]
    if isinstance(node, dict):
        return [str(k) for k in node]
    return []


def _get(node, key: str):
    return node[key] if isinstance(node, dict) else getattr(node, key)


def _set(node, key: str, value) -> None:
    if isinstance(node, dict):
        node[key] = value
    else:
        setattr(node, key, value)


def _numbers(value):
    """YAML 1.1 reads ``1e-3`` (no dot) as a string: make such strings floats, in lists and dicts too."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    return value


def apply_override(roots: dict[str, object], item: str) -> None:
    """Apply one ``a.b.c=value`` to whichever root config owns ``a``; ValueError (one line) on a bad item."""
    path, sep, text = item.partition("=")
    keys = path.strip().split(".")
    if not sep or not all(keys):
        raise ValueError(f"--cfg {item!r}: expected KEY=VALUE with a dotted KEY, e.g. algorithm.entropy_coef=0.005")
    owner = next((root for root in roots.values() if keys[0] in _children(root)), None)
    if owner is None:
        known = sorted({k for root in roots.values() for k in _children(root)})
        raise ValueError(f"--cfg {path}: no config has a field {keys[0]!r}; top-level fields: {', '.join(known)}")
    node = owner
    for depth, key in enumerate(keys):
        names = _children(node)
        if key not in names:
            where = ".".join(keys[:depth]) or "the config"
            raise ValueError(f"--cfg {path}: {where} has no field {key!r}; it has: {', '.join(names) or 'none'}")
        if depth == len(keys) - 1:
            try:
                value = _numbers(yaml.safe_load(text))
            except yaml.YAMLError:
                raise ValueError(f"--cfg {path}: cannot read {text!r} as a value") from None
            old = _get(node, key)
            if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            _set(node, key, value)
        else:
            node = _get(node, key)
