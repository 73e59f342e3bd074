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


def test_spiking_core_under_bf16_autocast_same_forward_close_gradients() -> None:
    """On the CPU, bf16 autocast leaves the spiking forward exact (spike sums in float32) and computes only the
    dense gradient products in bf16: the same action means, gradients within bf16 rounding of fp32's."""
    from legged_snn.snn.network import SpikingNetwork

    torch.manual_seed(3)
    net = SpikingNetwork(48, 12, [128, 64, 32])
    obs = torch.randn(512, 48)
    grads = []
    for bf16 in (False, True):
        net.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            mean = net(obs)
        assert mean.dtype == torch.float32
        mean.square().mean().backward()
        grads.append((mean.detach(), [p.grad.clone() for p in net.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=0, rtol=0)
    for g32, g16 in zip(grads[0][1], grads[1][1]):
        cos = torch.nn.functional.cosine_similarity(g32.flatten(), g16.flatten(), dim=0)
        assert torch.equal(g32, g16) or cos > 0.995, cos
    # the first layer's input gradient (encoder centres) goes through a bf16 product: not bit-equal
    assert not torch.equal(grads[0][1][0], grads[1][1][0])


@pytest.mark.parametrize("native,warned", [(False, True), (True, False)])
def test_mixed_precision_warns_on_a_cpu_without_bf16(monkeypatch, capsys, native: bool, warned: bool) -> None:
    import envs.launch as launch
    from legged_snn import cli
    monkeypatch.setattr(cli, "cpu_has_bf16", lambda: native)
    args = build_parser("train.py").parse_args(["--task", "a1_flat", "--mixed_precision"])
    _, train_cfg = launch.load_task(args)
    assert train_cfg.algorithm.use_mixed_precision
    assert ("no AVX512-BF16 or AMX" in capsys.readouterr().err) == warned
