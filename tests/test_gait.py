"""The gait prior (legged_snn/gait.py): foot height against its formula, trot phase offsets, leg kinematics
against MuJoCo's forward kinematics (A1 and ANYmal-C), and an open-loop trot in place on the real A1 env."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
import torch

from envs.locomotion.config import GaitPriorCfg
from envs.locomotion.env import LocomotionEnv, model_cfg
from envs.robots.a1 import a1_env_cfg
from envs.robots.anymal_c import anymal_c_env_cfg
from envs.robots.cassie import cassie_env_cfg
from legged_snn.gait import GAITS, GaitGenerator, foot_position, knee_branch, leg_chains, leg_ik, swing_height
from legged_snn.sim.model import build_model
from tests.env_helpers import open_loop_gait_env


def _robot(make):
    cfg = make()
    model, info = build_model(model_cfg(cfg))
    legs = leg_chains(model, list(cfg.robot.joint_names), list(cfg.robot.foot_bodies))
    q0 = torch.tensor([cfg.robot.default_joint_pos[j] for j in cfg.robot.joint_names])
    return cfg, model, info, legs, q0


def _mujoco_feet(model, info, cfg, q: torch.Tensor) -> torch.Tensor:
    """(L, 3) each foot in its hip joint's frame (base axes), by MuJoCo's forward kinematics at joint angles q."""
    data = mujoco.MjData(model)
    data.qpos[info.joint_qpos_adr] = q.double().numpy()
    mujoco.mj_kinematics(model, data)
    rot = data.xmat[info.root_body_id].reshape(3, 3)
    out = []
    for foot in cfg.robot.foot_bodies:
        hip = model.body(foot).id
        for _ in range(3):  # foot -> calf -> thigh -> hip
            hip = model.body_parentid[hip]
        out.append(rot.T @ (data.xpos[model.body(foot).id] - data.xpos[hip]))
    return torch.tensor(np.array(out), dtype=torch.float32)


def test_swing_height_against_its_formula():
    phase = torch.tensor([0.0, 0.3, 0.49, 0.5, 0.625, 0.75, 0.875, 0.999])
    z = swing_height(phase, stance_fraction=0.5, height=0.08)
    # stance, then s = 2u (rising) or 2 - 2u (falling) with u the swing fraction; lift = h (3 s^2 - 2 s^3)
    assert z[:4].abs().max() == 0.0
    assert z[4].item() == pytest.approx(0.08 * 0.5)  # u = 0.25 -> s = 0.5 -> 3/4 - 1/4
    assert z[5].item() == pytest.approx(0.08)  # apex at mid-swing
    assert z[6].item() == pytest.approx(0.04)
    assert z[7].item() == pytest.approx(0.08 * (3 * 0.004 ** 2 - 2 * 0.004 ** 3), abs=1e-7)
    eps = 1e-4  # zero vertical speed at lift-off and touch-down
    for at in (0.5, 1.0 - eps):
        slope = (swing_height(torch.tensor(at + eps), 0.5, 0.08) - swing_height(torch.tensor(at), 0.5, 0.08)) / eps
        assert abs(slope.item()) < 1e-3


def test_trot_pairs_diagonal_legs_half_a_period_apart():
    trot = GAITS["trot"]
    assert trot["FL"] == trot["RR"] and trot["FR"] == trot["RL"]
    assert abs(trot["FL"] - trot["FR"]) == 0.5
    cfg, _, _, legs, q0 = _robot(a1_env_cfg)
    gen = GaitGenerator(GaitPriorCfg(mode="trot"), legs, q0, num_envs=2, dt=0.02)
    lift = swing_height(gen.phase + 0.75, 0.5, 0.08)  # a quarter period into the swing of the first pair
    up = {r for r, z in zip(legs.roles, lift[0].tolist()) if z > 0.07}
    assert up in ({"FL", "RR"}, {"FR", "RL"})


@pytest.mark.parametrize("make", [a1_env_cfg, anymal_c_env_cfg], ids=["a1", "anymal_c"])
def test_leg_kinematics_match_mujoco(make):
    cfg, model, info, legs, q0 = _robot(make)
    g = torch.Generator().manual_seed(3)
    knee = knee_branch(q0[legs.joints], legs)
    for _ in range(5):
        q = q0 + 0.3 * (2 * torch.rand(q0.shape, generator=g) - 1)
        ref = _mujoco_feet(model, info, cfg, q)
        assert (foot_position(q[legs.joints], legs) - ref).abs().max() < 1e-5
        # inverse kinematics round trip through MuJoCo: within 1 mm
        back = torch.zeros_like(q0)
        back[legs.joints.flatten()] = leg_ik(ref, legs, knee).flatten()
        assert (_mujoco_feet(model, info, cfg, back) - ref).norm(dim=-1).max() < 1e-3


def test_generator_in_stance_gives_the_default_pose_and_lifts_the_swing_feet():
    cfg, model, info, legs, q0 = _robot(a1_env_cfg)
    gen = GaitGenerator(GaitPriorCfg(mode="trot"), legs, q0, num_envs=1, dt=0.02)
    gen.phase.zero_()  # every leg at the start of stance
    assert (gen.joint_angles()[0] - q0).abs().max() < 1e-5
    gen.phase.fill_(0.75)  # mid-swing: each foot 8 cm above its nominal point, by MuJoCo
    lifted = _mujoco_feet(model, info, cfg, gen.joint_angles()[0]) - _mujoco_feet(model, info, cfg, q0)
    assert lifted[:, 2].tolist() == pytest.approx([0.08] * 4, abs=1e-3)
    assert lifted[:, :2].abs().max() < 1e-3
    # a frequency action of -frequency / frequency_scale stops a leg; the phase never runs backwards
    gen.phase.zero_()
    gen.targets(torch.cat([torch.zeros(1, 12), torch.tensor([[-2.0, 0.0, -5.0, 1.0]])], dim=1))
    assert gen.phase[0].tolist() == pytest.approx([0.0, 0.04, 0.0, 0.06])


def test_a_robot_without_three_dof_legs_is_refused_by_name():
    cfg = cassie_env_cfg()
    model, _ = build_model(model_cfg(cfg))
    with pytest.raises(ValueError, match=r"the gait prior maps legs .* the leg of .*"):
        leg_chains(model, list(cfg.robot.joint_names), list(cfg.robot.foot_bodies))
    _, _, _, legs, q0 = _robot(a1_env_cfg)
    with pytest.raises(ValueError, match="gait_prior.mode 'gallop' is not a gait; use none or one of"):
        GaitGenerator(GaitPriorCfg(mode="gallop"), legs, q0, num_envs=1, dt=0.02)


def test_a1_trots_in_place_open_loop_for_5_seconds():
    env = open_loop_gait_env(a1_env_cfg, "trot")
    assert env.num_actions == 16
    zero = torch.zeros(env.num_envs, env.num_actions)
    feet_z, air = [], torch.zeros(env.num_envs, 4)
    for _ in range(int(math.ceil(5.0 / env.dt))):
        _, _, dones, _ = env.step(zero)
        assert not bool(dones.any()), "the A1 fell (or hit a termination) while trotting open loop"
        feet_z.append(env.sim.foot_pos[:, :, 2].clone())
        air += (~env.foot_contact).float() * (len(feet_z) > 50)
        if len(feet_z) == 50:  # after the drop from the spawn height
            start = env.sim.base_pos[:, :2].clone()
    z = torch.stack(feet_z[50:])  # (steps, N, 4) the last 4 s
    assert env.sim.base_pos[:, 2].min() > 0.18  # still up on its legs
    assert (air >= 3).all()  # every foot leaves the ground (measured: front 55-65, rear 4-15 steps of 200)
    # the feet lift 2 cm on average (the generator's 8 cm, less the soft PD's lag: the loaded rear legs lift least)
    assert (z.amax(0) - z.amin(0)).mean() > 0.02
    assert (env.sim.base_pos[:, :2] - start).norm(dim=-1).max() < 1.2  # roughly in place: under 0.3 m/s of drift


def test_policy_json_rebuilds_the_envs_generator():
    import json

    from envs.locomotion.metadata import policy_metadata
    from legged_snn.gait import from_description
    from legged_snn.registry import load

    env_cfg, train_cfg = load("a1_flat_gait")
    env_cfg.env.num_envs = 1
    env = LocomotionEnv(env_cfg)
    meta = json.loads(json.dumps(policy_metadata("a1_flat_gait", env, train_cfg)))  # through JSON, as exported
    assert meta["gait_prior"]["mode"] == "trot" and env.num_actions == 16
    assert meta["observation"]["dim"] == 48 + 4 + 8  # 4 more actions, sin/cos of 4 leg phases
    gen = from_description(meta["gait_prior"], torch.tensor(meta["default_joint_pos"]), 1, meta["control_dt"])
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        a = torch.randn(1, 16, generator=g)
        assert (gen.targets(a) - env.gait_prior.targets(a)).abs().max() < 1e-6
        assert (gen.clock() - env.gait_prior.clock()).abs().max() < 1e-6
    with pytest.raises(ValueError, match="is not 'legged_snn.gait/1'"):
        from_description({**meta["gait_prior"], "formula": "other/2"}, torch.zeros(12), 1, 0.02)
