"""bf16 mixed precision: training runs without NaN, and one PPO update's losses stay close to fp32's."""

from __future__ import annotations

import copy

import pytest
import torch

from envs.launch import make_session
from legged_snn.cli import build_parser


def _session(actor: str, *extra: str):
    args = build_parser("t").parse_args(["--task=a1_flat", "--num_envs=16", f"--actor={actor}", *extra])
    return make_session(args, log=False)


def _rollout(s) -> None:
    alg, env = s.runner.alg, s.env
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(s.train_cfg.runner.num_steps_per_env):
            actions = alg.act(obs)
            obs, rew, dones, extras = env.step(actions)
            alg.process_env_step(obs, rew, dones, extras)
        alg.compute_returns(obs)


@pytest.mark.parametrize("actor", ["snn", "mlp"])
def test_bf16_update_close_to_fp32_on_the_same_batch(actor: str) -> None:
    torch.manual_seed(0)
    s = _session(actor)
    _rollout(s)
    s.runner.alg.num_learning_epochs = s.runner.alg.num_mini_batches = 1  # one loss, before any step
    bf16 = copy.deepcopy(s.runner.alg)
    bf16.use_mixed_precision = True
    a, b = s.runner.alg.update(), bf16.update()
    assert all(torch.isfinite(torch.tensor(v)) for v in b.values())
    assert abs(a["value"] - b["value"]) <= 0.05 * abs(a["value"]) + 1e-4, (a, b)
    assert abs(a["surrogate"] - b["surrogate"]) <= 5e-3, (a, b)
    assert abs(a["entropy"] - b["entropy"]) <= 0.01 * abs(a["entropy"]), (a, b)


def test_bf16_trains_two_iterations_without_nan() -> None:
    s = _session("snn", "--mixed_precision")
    assert s.runner.alg.use_mixed_precision
    s.runner.learn(2)
    assert all(bool(torch.isfinite(p).all()) for p in s.runner.alg.get_policy().parameters())
