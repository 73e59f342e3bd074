"""LocomotionEnv: observation layout and noise, time-outs vs terminations, resets, rsl-rl contract."""

from __future__ import annotations

import pytest
import torch
from rsl_rl.env import VecEnv

from envs.locomotion.env import LocomotionEnv


@pytest.fixture
def env(a1_cfg):
    return LocomotionEnv(a1_cfg)


def test_observation_layout_and_noise_agree(env):
    layout = env.obs_layout
    assert layout.dim == 48 and env.get_observations()["policy"].shape == (4, 48)
    sl = layout.slices()
    assert [k for k in sl] == ["base_lin_vel", "base_ang_vel", "projected_gravity", "commands", "dof_pos",
                               "dof_vel", "actions"]
    nv = layout.noise_vec
    # legged_gym: noise = level * noise_scale * obs_scale, zero on commands and actions
    assert nv[sl["base_lin_vel"]].tolist() == pytest.approx([0.1 * 2.0] * 3)
    assert nv[sl["base_ang_vel"]].tolist() == pytest.approx([0.2 * 0.25] * 3)
    assert nv[sl["projected_gravity"]].tolist() == pytest.approx([0.05] * 3)
    assert nv[sl["dof_pos"]].tolist() == pytest.approx([0.01] * 12)
    assert nv[sl["dof_vel"]].tolist() == pytest.approx([1.5 * 0.05] * 12)
    assert torch.all(nv[sl["commands"]] == 0) and torch.all(nv[sl["actions"]] == 0)
    obs, *_ = env.step(torch.zeros(4, 12))
    clean = obs["critic"][:, :48]
    diff = (obs["policy"] - clean).abs()
    assert torch.all(diff <= nv + 1e-6)
    assert torch.all(diff[:, sl["dof_vel"]] > 0)  # noise is really there
    # the clean values are the scaled state
    assert clean[:, sl["base_ang_vel"]] == pytest.approx(env.sim.base_ang_vel * 0.25)
    assert clean[:, sl["dof_pos"]] == pytest.approx(env.sim.joint_pos - env.default_joint_pos)
    assert obs["critic"].shape == (4, 48 + 2 + 4)


def test_no_noise_when_disabled(a1_cfg):
    a1_cfg.noise.add_noise = False
    env = LocomotionEnv(a1_cfg)
    obs, *_ = env.step(torch.zeros(4, 12))
    assert torch.equal(obs["policy"], obs["critic"][:, :48])


def test_time_out_is_flagged_and_not_a_termination(env):
    env.episode_length_buf[1] = env.max_episode_length - 1
    _, _, dones, extras = env.step(torch.zeros(4, 12))
    assert dones.tolist() == [False, True, False, False]
    assert extras["time_outs"].tolist() == [False, True, False, False]
    assert env.episode_length_buf[1] == 0  # it was reset
    assert "Episode_Reward/tracking_lin_vel" in extras["log"]


def test_base_contact_terminates_without_time_out(env):
    pose = torch.tensor([[0.0, 0.0, 0.055, 0.0, 1.0, 0.0, 0.0]])  # upside down, base on the floor
    env.backend.reset(torch.tensor([2]), pose, torch.zeros(1, 6), env.default_joint_pos[None], torch.zeros(1, 12))
    _, _, dones, extras = env.step(torch.zeros(4, 12))
    assert dones[2] and not extras["time_outs"][2]
    assert not dones[0]


def test_rewards_are_weighted_by_dt_and_clipped(env):
    assert env.reward_scales["tracking_lin_vel"] == pytest.approx(1.0 * env.dt)
    assert "orientation" not in env.reward_scales  # scale 0 = term off
    _, rew, _, _ = env.step(torch.zeros(4, 12))
    assert torch.all(rew >= 0)  # only_positive_rewards


def test_vecenv_contract(env):
    assert isinstance(env, VecEnv)
    assert env.num_envs == 4 and env.num_actions == 12 and env.max_episode_length == 1000
    assert env.episode_length_buf.shape == (4,)


def test_heading_command_sets_yaw_rate(env):
    env.commands_mgr.heading[:] = torch.tensor([1.0, -1.0, 3.0, 0.0])
    env.commands_mgr.update_heading(env.sim.base_quat)
    from legged_snn.sim.math import heading, wrap_to_pi
    err = wrap_to_pi(env.commands_mgr.heading - heading(env.sim.base_quat))
    assert env.commands[:, 2] == pytest.approx(torch.clamp(0.5 * err, -1, 1))


def test_small_commands_are_zeroed(a1_cfg):
    a1_cfg.commands.lin_vel_x = (0.0, 0.1)
    a1_cfg.commands.lin_vel_y = (0.0, 0.1)
    env = LocomotionEnv(a1_cfg)
    assert torch.all(env.commands[:, :2] == 0)
