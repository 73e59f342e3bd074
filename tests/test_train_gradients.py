"""Training end to end with each spiking gradient (real MuJoCo, real rsl-rl) and the throughput bench's time split."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch


def _python(root: str, script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, os.path.join(root, script), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("gradient", ["bptt", "rate"])
def test_two_iterations_train_with_each_gradient(root, tmp_path, gradient):
    res = _python(root, "train.py", "--task=a1_flat", "--actor=snn", "--num_envs=16", "--max_iterations=2",
                  f"--log_root={tmp_path}", f"--cfg=policy.snn.gradient={gradient}")  # direct input (the default)
    assert res.returncode == 0, res.stderr[-2000:]
    (run,) = os.listdir(tmp_path / "a1_flat")
    first = torch.load(tmp_path / "a1_flat" / run / "model_0.pt", weights_only=True)["actor_state_dict"]
    last = torch.load(tmp_path / "a1_flat" / run / "model_1.pt", weights_only=True)["actor_state_dict"]
    moved = [k for k in first if "layers.0" in k and not torch.equal(first[k], last[k])]
    assert moved, "the first LIF layer did not change"  # the gradient reached the bottom of the network
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("it ")]
    assert len(lines) == 2 and "live=" in lines[-1]


def test_membrane_history_flag_trains_with_exact_bptt(root, tmp_path):
    """The default gradient is the rate rule, which membrane history cannot take: ``--history membrane`` picks BPTT."""
    from legged_snn.rl.config import PolicyCfg

    assert PolicyCfg().snn["gradient"] == "rate"
    res = _python(root, "train.py", "--task=a1_flat", "--actor=snn", "--num_envs=4", "--max_iterations=1",
                  "--history=membrane", f"--log_root={tmp_path}")
    assert res.returncode == 0, res.stderr[-2000:]
    (run,) = os.listdir(tmp_path / "a1_flat")
    with open(tmp_path / "a1_flat" / run / "params" / "train.yaml") as f:
        text = f.read()
    assert "gradient: bptt" in text and "history: membrane" in text


@pytest.mark.parametrize("cfg, gradient", [
    ([], "rate"),
    (["policy.snn.history=membrane"], "bptt"),
    (["policy.snn.neuron.max_spikes=3"], "rate"),  # multi-spike counts are rates the rule takes
    (["policy.snn.history=membrane", "policy.snn.gradient=rate"], "rate"),  # asked for: the network's error says why
])
def test_exact_gradient_where_the_rate_rule_cannot_go(cfg, gradient):
    from envs import launch
    from legged_snn.cli import add_training_flags, build_parser

    args = add_training_flags(build_parser("t")).parse_args(["--task=a1_flat", "--actor=snn",
                                                              *(f"--cfg={c}" for c in cfg)])
    _, train_cfg = launch.load_task(args)
    launch._exact_gradient_where_needed(args, train_cfg)
    assert train_cfg.policy.snn["gradient"] == gradient


def test_membrane_history_refuses_the_rate_gradient(root, tmp_path):
    res = _python(root, "train.py", "--task=a1_flat", "--actor=snn", "--num_envs=4", "--max_iterations=1",
                  "--history=membrane",
                  f"--log_root={tmp_path}", "--cfg=policy.snn.gradient=rate")
    assert res.returncode != 0 and "snn.gradient 'rate' needs snn.history 'stack'" in res.stderr
    assert not (tmp_path / "a1_flat").exists() or not os.listdir(tmp_path / "a1_flat")


def test_throughput_compare_splits_each_iteration(root):
    res = _python(root, "bench/train_throughput.py", "--task=a1_flat", "--num_envs=16", "--iterations=1",
                  "--compare", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["snn"]["actor"] == "snn" and out["mlp"]["actor"] == "mlp"
    assert out["snn"]["snn_forward"] == "spikes" and out["snn"]["ppo_epochs"] == 2  # the spike phase's epochs
    assert out["snn_over_mlp_env_steps_per_s"] == pytest.approx(
        out["snn"]["env_steps_per_s"] / out["mlp"]["env_steps_per_s"], abs=1e-3)
    for side in (out["snn"], out["mlp"]):
        parts = [side[f"seconds_{k}"] for k in ("physics", "policy_rollout", "update")]
        assert all(p > 0 for p in parts)
        assert sum(parts) <= side["seconds_per_iteration"] + 1e-3
