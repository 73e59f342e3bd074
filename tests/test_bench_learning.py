"""bench/learning.py reports over a window that spans a whole push period (synchronized pushes make episode
lengths oscillate with that period)."""

from __future__ import annotations

import importlib.util
import os
from types import SimpleNamespace

import envs.tasks  # noqa: F401  (registers the tasks)
from legged_snn.registry import load

_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "learning.py")
_spec = importlib.util.spec_from_file_location("bench_learning", _path)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _session(task: str) -> SimpleNamespace:
    env_cfg, train_cfg = load(task)
    dt = env_cfg.sim.dt * env_cfg.sim.decimation
    return SimpleNamespace(env_cfg=env_cfg, train_cfg=train_cfg, env=SimpleNamespace(dt=dt))


def test_window_is_one_push_period():
    s = _session("g1_flat")  # pushes every 5 s = 250 policy steps = 10.4 iterations of 24 steps
    assert bench.averaging_window(s) == 11
    s.env_cfg.domain_rand.push_interval_s = 15.0
    assert bench.averaging_window(s) == 32
    s.env_cfg.domain_rand.push_robots = False
    assert bench.averaging_window(s) == 5
