"""MuJoCo's warnings, counted instead of printed one by one.

A diverging model makes the C engine warn once per blown-up simulation ("Nan, Inf or huge value in QACC ..."),
thousands of lines in a storm. The handler installed here prints the first warning once, with where the count
goes, and counts the rest; the env logs the count and the console line shows the blow-ups per iteration.
The batch engine calls it from its worker threads, hence the lock.
"""

from __future__ import annotations

import threading

import mujoco


class WarningCounter:
    """Callable for ``mujoco.set_mju_user_warning``: ``total`` warnings so far, the ``first`` one's text."""

    def __init__(self) -> None:
        self.total = 0
        self.first: str | None = None
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        with self._lock:
            self.total += 1
            if self.first is None:
                self.first = " ".join(str(message).split())
                print(f"note: MuJoCo warned: {self.first} (further MuJoCo warnings are counted, not printed: see "
                      "'blowups' on the iteration lines)", flush=True)


COUNTER = WarningCounter()
_installed = False


def install() -> WarningCounter:
    """Route MuJoCo's warnings to the process-wide counter (idempotent); returns it."""
    global _installed
    if not _installed:
        mujoco.set_mju_user_warning(COUNTER)
        _installed = True
    return COUNTER
