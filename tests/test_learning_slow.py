"""Slow learning checks (``pytest -m slow``): real MuJoCo, real rsl-rl, a few minutes of training each."""

from __future__ import annotations

import pytest

from envs.launch import make_session
from legged_snn.cli import parse


@pytest.mark.slow
@pytest.mark.parametrize("actor", ["mlp", "snn"])
def test_a1_flat_learns_to_track(actor, tmp_path):
    args = parse(["--task=a1_flat", "--num_envs=1024", f"--actor={actor}", f"--log_root={tmp_path}",
                  "--max_iterations=60"], "test")
    session = make_session(args)  # a run folder under tmp_path: the logger keeps the history
    session.runner.learn(60, init_at_random_ep_len=True)
    hist = session.runner.logger.history
    first = hist[5].get("Episode_Reward/tracking_lin_vel", 0.0)
    last = sum(h.get("Episode_Reward/tracking_lin_vel", 0.0) for h in hist[-5:]) / 5
    assert last > max(2.0 * first, 0.1), (first, last)  # fraction of the 1.0 maximum, after ~1.5 M steps
