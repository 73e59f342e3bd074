"""Task registry: ``register_task(name, env_cfg_fn, train_cfg_fn)``; ``load(name)`` returns fresh copies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

_TASKS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {}


class UnknownTaskError(ValueError):
    """A task name that nobody registered."""


def register_task(name: str, env_cfg_fn: Callable[[], Any], train_cfg_fn: Callable[[], Any]) -> None:
    """Register a task by name; registering a name twice is an error."""
    if name in _TASKS:
        raise ValueError(f"task {name!r} is already registered")
    _TASKS[name] = (env_cfg_fn, train_cfg_fn)


def task_names() -> list[str]:
    """Registered task names, sorted."""
    return sorted(_TASKS)


def load(name: str) -> tuple[Any, Any]:
    """(env_cfg, train_cfg) for ``name``, deep copies the caller may edit."""
    if name not in _TASKS:
        raise UnknownTaskError(f"unknown task {name!r}; known tasks: {', '.join(task_names()) or 'none'}")
    env_fn, train_fn = _TASKS[name]
    return copy.deepcopy(env_fn()), copy.deepcopy(train_fn())
