"""MuJoCo's warnings, counted instead of printed one by one.

A diverging model makes the C engine warn once per blown-up simulation ("Nan, Inf or huge value in QACC ..."),
thousands of lines in a storm. The handler installed here prints the first warning of each kind once, with where
the count goes, and counts the rest; the env logs the count and the console line shows the blow-ups per iteration.
The batch engine calls it from its worker threads, hence the lock.
"""

from __future__ import annotations

import re
import threading

import mujoco


class WarningCounter:
    """Callable for ``mujoco.set_mju_user_warning``: ``total`` warnings so far; the first of each kind is printed."""

    def __init__(self) -> None:
        self.total = 0
        self.kinds: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        text = " ".join(str(message).split())
        kind = re.sub(r"[-+]?\d[\d.eE+-]*", "#", text)  # "... at DOF 3 ... Time = 0.15" -> one kind per message
        with self._lock:
            self.total += 1
            new = kind not in self.kinds
            self.kinds.add(kind)
        if new:
            print(f"note: MuJoCo warned: {text} (further warnings of this kind are counted, not printed: tensorboard "
                  "Episode_Termination/mujoco_warnings_total; robots whose simulation diverged are reset and "
                  "counted as 'blowups' on the iteration lines)", flush=True)


COUNTER = WarningCounter()
_installed = False


def install() -> WarningCounter:
    """Route MuJoCo's warnings to the process-wide counter (idempotent); returns it."""
    global _installed
    if not _installed:
        mujoco.set_mju_user_warning(COUNTER)
        _installed = True
    return COUNTER
