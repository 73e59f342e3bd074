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


def test_policy_kl_bench_reports_both_actors(tmp_path):
    """bench/policy_kl.py trains both actors briefly; the KL after the first step and how the mean moves per step."""
    import json
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(_path), "policy_kl.py")
    res = subprocess.run([sys.executable, script, "--task", "a1_flat", "--num_envs", "16", "--iterations", "1",
                          "--log_root", str(tmp_path), "--json"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for actor in ("snn", "mlp"):
        assert 0.0 < out[f"kl_first_step_{actor}"] <= out[f"kl_first_iteration_max_{actor}"]
        assert 1e-5 <= out[f"learning_rate_end_{actor}"] <= 1e-2
        assert 0.0 <= out[f"clip_fraction_step_4_{actor}"] <= 1.0 and out[f"ratio_deviation_step_19_{actor}"] > 0
        assert 0.0 < out[f"mean_shift_lr1e-05_{actor}"] < out[f"mean_shift_lr0.001_{actor}"]
    assert 0.9 < out["mean_shift_slope_mlp"] < 1.1  # a smooth network moves with the step
    assert out["mean_shift_slope_snn"] < 0.8  # spike flips: the mean moves far more than the step at small rates
    assert out["mean_shift_lr1e-05_snn_over_mlp"] > 10
    assert sorted(os.listdir(tmp_path / "a1_flat"))  # the runs went under --log_root, not the repo's logs/


def test_learning_bench_reports_the_rate_each_actor_trained_with(tmp_path):
    """One iteration per actor: the JSON row names its actor, PPO epochs (both counts when they change once the
    forward is spikes), learning rate and schedule."""
    import json
    import subprocess
    import sys

    rows = {}
    spikes_later = ["--max_iterations", "2", "--anneal", "0", "1", "--cfg", "algorithm.snn_learning_epochs=5",
                    "--cfg", "algorithm.spike_learning_epochs=2"]  # 5 epochs while smooth, 2 once on spikes
    for name, flags in (("snn", ["--actor", "snn", "--max_iterations", "1"]),
                        ("mlp", ["--actor", "mlp", "--max_iterations", "1"]),
                        ("snn_spikes_later", ["--actor", "snn", *spikes_later])):
        res = subprocess.run([sys.executable, _path, "--task", "a1_flat", *flags, "--num_envs", "8",
                              "--log_root", str(tmp_path), "--json"], capture_output=True,
                             text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert res.returncode == 0, res.stderr[-2000:]
        rows[name] = json.loads(res.stdout.strip().splitlines()[-1])
    assert rows["snn_spikes_later"]["ppo_epochs"] == 5 and rows["snn_spikes_later"]["ppo_epochs_on_spikes"] == 2
    assert rows["snn_spikes_later"]["anneal"] == [0, 1] and rows["snn_spikes_later"]["smooth_at_end"] == 0.0
    # the spiking actor's defaults: smooth to 200, spikes from 320 (so one iteration is still smooth), 5 epochs then 2
    assert rows["snn"]["anneal"] == [200, 320] and rows["snn"]["smooth_at_end"] == 1.0
    assert rows["snn"]["ppo_epochs"] == 5 and rows["snn"]["ppo_epochs_on_spikes"] == 2
    assert "ppo_epochs_on_spikes" not in rows["mlp"] and "anneal" not in rows["mlp"]
    _, cfg = load("a1_flat")
    assert rows["snn"]["actor"] == "snn" and rows["mlp"]["actor"] == "mlp"
    points = cfg.algorithm.lr_points  # the spiking actor's default schedule is "piecewise" from these points
    assert rows["snn"]["lr_schedule"] == "piecewise" and rows["snn"]["lr_points"] == [list(p) for p in points]
    assert rows["snn"]["learning_rate"] == points[0][1] != cfg.algorithm.learning_rate
    assert "lr_points" not in rows["mlp"]
    assert rows["mlp"]["learning_rate"] == cfg.algorithm.learning_rate and rows["mlp"]["lr_schedule"] == "adaptive"
    assert rows["snn"]["iterations"] == rows["mlp"]["iterations"] == 1 and rows["snn"]["env_steps"] > 0
