"""The diagnostic MLP actors of docs/snn_ppo.md: population-coded input, bounded hidden units (real rsl-rl)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from rsl_rl.utils import resolve_callable
from tensordict import TensorDict

from legged_snn.rl.config import TrainCfg, actor_model, to_rsl_rl


def _actor(mlp_input: str, **policy):
    cfg = TrainCfg()
    cfg.policy.mlp_input = mlp_input
    for k, v in policy.items():
        setattr(cfg.policy, k, v)
    spec = actor_model(cfg.policy)
    cls = resolve_callable(spec.pop("class_name"))
    obs = TensorDict({"policy": torch.randn(64, 48)}, batch_size=[64])
    return cls(obs, {"actor": ["policy"]}, "actor", 12, **spec), obs


@pytest.mark.parametrize("mlp_input", ["population", "population_counts"])
def test_population_input_reaches_the_mlp(mlp_input):
    actor, obs = _actor(mlp_input)
    assert actor.mlp[0].in_features == 48 * 10  # D x P inputs, the spiking actor's first layer's fan-in
    latent = actor.get_latent(obs)
    assert latent.shape == (64, 480) and 0.0 <= latent.min() and latent.max() <= 1.0
    levels = torch.unique(latent)
    if mlp_input == "population_counts":  # the deterministic encoder's T-step rate: T + 1 levels at most
        assert set((levels * 5).round().tolist()) <= set(range(6)) and len(levels) <= 6
    else:
        assert len(levels) > 100  # the stimulation itself, continuous
    assert actor(obs).shape == (64, 12)


def test_population_actor_learns_its_fields():
    actor, obs = _actor("population")
    actor.update_normalization(obs)
    actor(obs).square().sum().backward()
    assert actor.encoder.mu.grad is not None and actor.encoder.mu.grad.abs().sum() > 0


def test_actor_activation_leaves_the_critic_alone():
    cfg = TrainCfg()
    cfg.policy.actor_activation = "sigmoid"
    rsl = to_rsl_rl(cfg)
    assert rsl["actor"]["activation"] == "sigmoid" and rsl["critic"]["activation"] == "elu"
    actor, _ = _actor("raw", actor_activation="sigmoid")
    assert any(isinstance(m, torch.nn.Sigmoid) for m in actor.mlp)


def test_population_actor_refuses_export_and_bad_values(root, tmp_path):
    actor, _ = _actor("population")
    with pytest.raises(NotImplementedError, match="diagnostic actor"):
        actor.as_jit()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "train.py", "--task=a1_flat", "--num_envs=4", "--max_iterations=1",
                          f"--log_root={tmp_path}", "--cfg=policy.mlp_input=spikes"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "policy.mlp_input must be one of" in res.stderr
    assert not (tmp_path / "a1_flat").exists() or not os.listdir(tmp_path / "a1_flat")


def test_population_run_trains_and_play_refuses_its_export_in_one_line(root, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = ["--task=a1_flat", "--num_envs=4", f"--log_root={tmp_path}"]
    res = subprocess.run([sys.executable, "train.py", *common, "--max_iterations=1",
                          "--cfg=policy.mlp_input=population"], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    res = subprocess.run([sys.executable, "play.py", *common, "--export_only"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "diagnostic actor" in res.stderr and "--no_export" in res.stderr
    assert "Traceback" not in res.stderr
    res = subprocess.run([sys.executable, "train.py", *common, "--max_iterations=1", "--actor=snn",
                          "--cfg=policy.actor_activation=tanh"], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode != 0 and "configure the MLP actor; with --actor snn drop them" in res.stderr


def test_mlp_lr_scale_scales_the_actors_step_only():
    # policy.mlp_lr_scale: the same initial function; one Adam step moves the actor's weights g x as far
    torch.manual_seed(0)
    plain, obs = _actor("raw")
    torch.manual_seed(0)
    scaled, _ = _actor("raw", mlp_lr_scale=0.1)
    assert type(scaled).__name__ == "PopulationMLP" and scaled.mlp[0].in_features == 48
    torch.testing.assert_close(scaled(obs), plain(obs))
    moved = []
    for actor in (plain, scaled):
        before = actor.mlp[0].weight.detach().clone()
        opt = torch.optim.Adam(actor.parameters(), lr=1e-2)
        actor(obs).square().sum().backward()
        opt.step()
        moved.append((actor.mlp[0].weight.detach() - before).abs().max().item())
    assert moved[1] == pytest.approx(0.1 * moved[0], rel=1e-3)
    with pytest.raises(NotImplementedError, match="diagnostic actor"):
        scaled.as_jit()


def test_mlp_weight_centering_standardize_holds_the_hidden_rows_not_the_head():
    torch.manual_seed(0)
    actor, obs = _actor("raw", mlp_weight_centering="standardize")
    assert type(actor).__name__ == "PopulationMLP"
    linears = [m for m in actor.mlp if isinstance(m, torch.nn.Linear)]
    norms = [fc.weight.detach().norm(dim=1) for fc in linears]
    opt = torch.optim.Adam(actor.parameters(), lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        actor(obs).square().sum().backward()
        opt.step()
    for fc, n0 in zip(linears[:-1], norms[:-1]):
        assert fc.weight.detach().sum(dim=1).abs().max() < 1e-4
        torch.testing.assert_close(fc.weight.detach().norm(dim=1), n0, atol=1e-4, rtol=1e-4)
    assert (linears[-1].weight.detach().norm(dim=1) - norms[-1]).abs().max() > 1e-2  # the head is free
    with pytest.raises(NotImplementedError, match="diagnostic actor"):
        actor.as_jit()


def test_mlp_weight_centering_sphere_holds_the_stored_rows_after_each_step():
    """"sphere" on the MLP: after every Adam step (the runner's post-hook) the stored hidden rows are back at their
    initial norms, so the angle per step does not shrink as they would grow; the head stays free."""
    torch.manual_seed(0)
    actor, obs = _actor("raw", mlp_weight_centering="sphere")
    hidden = [m for m in actor.mlp if isinstance(m, torch.nn.Linear)][:-1]
    assert actor.sphere_linears == hidden

    def stored(fc):
        w = fc.parametrizations.weight.original.detach()
        return (w - w.mean(dim=1, keepdim=True)).norm(dim=1)

    start = [stored(fc) for fc in hidden]
    opt = torch.optim.Adam(actor.parameters(), lr=0.1)
    handle = opt.register_step_post_hook(actor.after_step)
    for _ in range(5):
        opt.zero_grad()
        actor(obs).square().sum().backward()
        opt.step()
    for fc, n0 in zip(hidden, start):
        torch.testing.assert_close(stored(fc), n0, atol=1e-5, rtol=1e-5)
    handle.remove()
    opt.zero_grad()
    actor(obs).square().sum().backward()
    opt.step()  # without the hook the rows grow: the test above can fail
    assert any((stored(fc) - n0).abs().max() > 1e-3 for fc, n0 in zip(hidden, start))


def test_a_sphere_mlp_run_holds_its_stored_rows(root, tmp_path):
    """The runner registers the MLP's hold (rl/hooks.py): after a real 2-iteration PPO run every hidden layer's stored
    centred rows sit at their held norms (without the hook Adam's steps lengthen them)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "train.py", "--task=a1_flat", "--num_envs=8", "--max_iterations=2",
                          f"--log_root={tmp_path}", "--cfg=policy.mlp_weight_centering=sphere"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    (ckpt,) = [p for p in (tmp_path / "a1_flat").glob("*/model_1.pt")]
    state = torch.load(ckpt, weights_only=False)["actor_state_dict"]
    held = sorted(k for k in state if k.endswith("parametrizations.weight.original"))
    assert len(held) == 3  # [128, 64, 32]: three hidden layers, the head free
    for key in held:
        w = state[key]
        norms = state[key.replace("original", "0.norms")].flatten()
        torch.testing.assert_close((w - w.mean(dim=1, keepdim=True)).norm(dim=1), norms, atol=1e-5, rtol=1e-5)


def test_mlp_init_gain_scales_the_hidden_layers_that_sphere_then_holds():
    """``policy.mlp_init_gain`` g: the hidden rows start (and under "sphere" stay) at g x the default init's norms;
    the head is left at rsl-rl's init; a gain <= 0 is a one-line error."""
    norms = []
    for gain in (1.0, 3.0):
        torch.manual_seed(0)
        actor, _ = _actor("raw", mlp_weight_centering="sphere", mlp_init_gain=gain)
        linears = [m for m in actor.mlp if isinstance(m, torch.nn.Linear)]
        norms.append([fc.weight.detach().norm(dim=1) for fc in linears])
    for n1, n3 in zip(norms[0][:-1], norms[1][:-1]):
        torch.testing.assert_close(n3, 3.0 * n1)
    torch.testing.assert_close(norms[1][-1], norms[0][-1])
    with pytest.raises(ValueError, match="mlp_init_gain must be a finite number > 0"):
        _actor("raw", mlp_init_gain=0.0)


@pytest.mark.parametrize("actor,gain,needle", [
    ("mlp", "abc", "policy.mlp_init_gain must be a finite number > 0, got 'abc'"),
    ("mlp", 0.0, "policy.mlp_init_gain must be a finite number > 0"),
    ("snn", 3.0, "mlp_init_gain and actor_activation configure the MLP actor"),
])
def test_bad_mlp_init_gain_is_a_one_line_user_error(actor, gain, needle):
    from envs.launch import _checked_actor
    from legged_snn.cli import UserError

    cfg = TrainCfg()
    cfg.policy.actor, cfg.policy.mlp_init_gain = actor, gain
    with pytest.raises(UserError, match=needle):
        _checked_actor(cfg)
