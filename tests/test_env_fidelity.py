"""Env mechanics that follow legged_gym / unitree_rl_gym where MuJoCo differs from Isaac Gym: friction averaging,
cylinders loaded as capsules, tilt terminations (G1), Cassie's leg contacts, ANYmal-C flat's commands."""

from __future__ import annotations

import math

import mujoco
import pytest
import torch

import envs.tasks  # noqa: F401  (registers the tasks)
from envs.locomotion import terminations
from envs.locomotion.env import LocomotionEnv, model_cfg
from legged_snn.registry import load
from legged_snn.sim.math import quat_rotate_inverse
from legged_snn.sim.model import build_model
from tests.env_helpers import small


def test_friction_is_the_average_of_robot_and_floor():
    """Isaac Gym averages the drawn robot friction with the floor's 1.0: ANYmal-C flat's [0, 1.5] acts as
    [0.5, 1.25] (MuJoCo's max of the pair would leave robots on ice)."""
    cfg = small("anymal_c_flat", 64)
    assert cfg.domain_rand.friction_range == (0.0, 1.5)
    f = LocomotionEnv(cfg).friction
    assert f.min() >= 0.5 and f.max() <= 1.25
    assert f.min() < 0.6 and f.max() > 1.15  # the whole averaged range is drawn


@pytest.mark.parametrize("task", ["a1_flat", "cassie_flat", "anymal_c_flat"])
def test_cylinders_become_capsules(task):
    cfg, _ = load(task)
    model, _ = build_model(model_cfg(cfg))
    assert mujoco.mjtGeom.mjGEOM_CYLINDER not in set(model.geom_type.tolist())
    if task == "cassie_flat":  # the toe: radius 0.02, length 0.125 -> capsule half-length 0.0625
        toe = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "left_toe")
        g = int(model.body_geomadr[toe])
        assert model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE
        assert model.geom_size[g, :2].tolist() == pytest.approx([0.02, 0.0625])


def _gravity(roll: float, pitch: float, yaw: float = 0.7) -> torch.Tensor:
    """Unit gravity in the base frame of a base at x-y-z Euler angles: q = q_z(yaw) q_y(pitch) q_x(roll), gravity
    rotated into it as the simulator state does (``quat_rotate_inverse``)."""
    def axis(i: int, a: float) -> torch.Tensor:
        q = torch.zeros(1, 4, dtype=torch.float64)
        q[0, 0], q[0, 1 + i] = math.cos(a / 2), math.sin(a / 2)
        return q

    def mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        w1, v1, w2, v2 = a[:, :1], a[:, 1:], b[:, :1], b[:, 1:]
        return torch.cat([w1 * w2 - (v1 * v2).sum(1, keepdim=True),
                          w1 * v2 + w2 * v1 + torch.cross(v1, v2, dim=1)], dim=1)

    q = mul(axis(2, yaw), mul(axis(1, pitch), axis(0, roll)))
    return quat_rotate_inverse(q, torch.tensor([[0.0, 0.0, -1.0]], dtype=torch.float64)).float()


def test_tilt_limits():
    cases = [((0.0, 0.0), False), ((0.79, 0.0), False), ((-0.81, 0.0), True), ((0.0, 0.99), False),
             ((0.0, -1.01), True), ((0.5, 0.9), False), ((0.75, -0.95), False), ((0.85, 0.95), True),
             ((0.7, 1.05), True), ((2.5, 0.0), True)]
    for (roll, pitch), want in cases:
        assert bool(terminations.tilted(_gravity(roll, pitch), 0.8, 1.0)[0]) is want, (roll, pitch)
    assert not terminations.tilted(_gravity(3.0, 1.5), 0.0, 0.0)[0]  # 0 = no limit
    g1, _ = load("g1_flat")
    assert (g1.robot.max_roll, g1.robot.max_pitch) == (0.8, 1.0)


def test_tilt_ends_episodes_in_the_env():
    """A limit far below the reset's wobble ends episodes at once; none end without it."""
    ends = []
    for limit in (0.0, 1e-3):
        cfg = small("a1_flat", 8)
        cfg.robot.max_roll = cfg.robot.max_pitch = limit
        env = LocomotionEnv(cfg)
        done = torch.zeros(8, dtype=torch.bool)
        for _ in range(5):
            done |= env.step(torch.zeros(8, env.num_actions))[2]
        ends.append(int(done.sum()))
    assert ends[0] == 0 and ends[1] >= 4


def test_cassie_episode_ends_when_a_leg_touches_the_floor():
    """Zero actions from a random reset pose: Cassie folds onto a leg; the episode ends then, with the pelvis still
    high (legged_gym's Cassie has no leg shapes, so there the pelvis would land)."""
    cfg = small("cassie_flat", 4)
    cfg.domain_rand.push_robots = False
    assert "left_tarsus" in cfg.robot.terminate_after_contacts_on
    env = LocomotionEnv(cfg)
    z_before = env.sim.base_pos[:, 2].clone()
    for _ in range(150):
        _, _, done, _ = env.step(torch.zeros(4, env.num_actions))
        if bool(done[0]):
            break
        z_before = env.sim.base_pos[:, 2].clone()
    assert bool(done[0]) and not bool(env.time_out_buf[0])
    assert z_before[0] > 0.35  # the pelvis sphere (r 0.25) touches the floor only below ~0.27 m
