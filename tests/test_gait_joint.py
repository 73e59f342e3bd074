"""The joint-space gait prior (legged_snn/gait_joint.py): foot lift by MuJoCo's forward kinematics, alternating legs,
policy.json round trip, bad input, and the real G1 / Cassie envs lifting their feet open loop."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from envs.locomotion.config import GaitPriorCfg
from envs.locomotion.env import LocomotionEnv, model_cfg
from envs.robots.a1 import a1_env_cfg
from envs.robots.cassie import cassie_env_cfg
from envs.robots.g1 import g1_env_cfg
from legged_snn.gait import swing_height
from legged_snn.gait_joint import JointProfileGenerator, make_gait_prior, rebuild
from legged_snn.sim.model import build_model
from tests.env_helpers import open_loop_gait_env


def _prior(make, mode: str = "alternate", **changes):
    cfg = make()
    r = cfg.robot
    for k, v in changes.items():
        setattr(r, k, v)
    model, info = build_model(model_cfg(cfg))
    q0 = torch.tensor([r.default_joint_pos[j] for j in r.joint_names])
    gen = make_gait_prior(GaitPriorCfg(mode=mode), model, info, list(r.joint_names), list(r.foot_bodies), q0,
                          dict(r.swing_joints), num_envs=1, dt=0.02)
    return cfg, model, info, gen, q0


def _feet_z(model, info, cfg, q: torch.Tensor) -> np.ndarray:
    data = mujoco.MjData(model)
    data.qpos[info.joint_qpos_adr] = q.double().numpy()
    mujoco.mj_kinematics(model, data)
    return np.array([data.xpos[model.body(f).id, 2] for f in cfg.robot.foot_bodies])


@pytest.mark.parametrize("make", [g1_env_cfg, cassie_env_cfg])
def test_the_swinging_foot_rises_swing_height_at_mid_swing(make):
    cfg, model, info, gen, q0 = _prior(make)
    assert isinstance(gen, JointProfileGenerator) and gen.roles == ["L", "R"]
    stand = _feet_z(model, info, cfg, q0)
    lifts = []
    for phase in np.linspace(0.0, 1.0, 41)[:-1]:
        gen.phase = torch.tensor([[phase, phase + 0.5]], dtype=torch.float32).remainder(1.0)
        lifts.append(_feet_z(model, info, cfg, gen.joint_angles()[0]) - stand)
        expected = swing_height(gen.phase, 0.5, 1.0)[0]  # which leg is in swing, and how far through it
        for leg in range(2):
            if expected[leg] == 0:  # stance: the default pose exactly
                assert np.allclose(gen.joint_angles()[0][gen.amplitudes[leg] != 0], q0[gen.amplitudes[leg] != 0])
    lifts = np.array(lifts)  # (40, 2): left swings over phases 0.5..1, right over 0..0.5
    assert lifts[30, 0] == pytest.approx(0.08, abs=1e-3)  # mid-swing (phase 0.75) by forward kinematics
    assert lifts[10, 1] == pytest.approx(0.08, abs=1e-3)
    assert np.all(np.diff(lifts[20:31, 0]) > 0) and np.all(np.diff(lifts[30:, 0]) < 0)  # up, then down
    assert np.abs(lifts[:20, 0]).max() < 1e-9  # the left foot stands while the right swings
    assert (lifts.min(axis=1) < 1e-9).all()  # alternate: one foot is always down


def test_alternate_starts_the_legs_half_a_period_apart_and_reset_returns_there():
    _, _, _, gen, _ = _prior(g1_env_cfg)
    assert gen.offsets.tolist() == [0.0, 0.5]
    gen.targets(torch.zeros(1, gen.num_actions))
    assert gen.phase[0].tolist() == pytest.approx([0.04, 0.54])  # 2 Hz x 0.02 s
    gen.reset(torch.tensor([0]))
    assert gen.phase[0].tolist() == [0.0, 0.5]


@pytest.mark.parametrize("task", ["g1_flat_gait", "cassie_flat_gait"])
def test_policy_json_rebuilds_the_envs_profile(task):
    import json

    from envs.locomotion.metadata import policy_metadata
    from legged_snn.registry import load

    env_cfg, train_cfg = load(task)
    env_cfg.env.num_envs = 1
    env = LocomotionEnv(env_cfg)
    meta = json.loads(json.dumps(policy_metadata(task, env, train_cfg)))  # through JSON, as exported
    assert meta["gait_prior"]["formula"] == "legged_snn.gait_joint/1" and env.num_actions == 14
    gen = rebuild(meta["gait_prior"], torch.tensor(meta["default_joint_pos"]), 1, meta["control_dt"])
    assert isinstance(gen, JointProfileGenerator)
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        a = torch.randn(1, 14, generator=g)
        assert (gen.targets(a) - env.gait_prior.targets(a)).abs().max() < 1e-6
        assert (gen.clock() - env.gait_prior.clock()).abs().max() < 1e-6
    desc = meta["gait_prior"]
    with pytest.raises(ValueError, match="is not 'legged_snn.gait/1' or 'legged_snn.gait_joint/1'; export it again"):
        rebuild({**desc, "formula": "other/2"}, torch.zeros(12), 1, 0.02)
    with pytest.raises(ValueError, match=r"needs amplitudes of shape \(2 legs, 12 joints\), got \(2, 11\)"):
        rebuild({**desc, "amplitudes": [row[:11] for row in desc["amplitudes"]]}, torch.zeros(12), 1, 0.02)


def test_a_resumed_env_continues_the_profiles_phases():
    from tests.env_helpers import small

    env = LocomotionEnv(small("g1_flat_gait"))
    actions = torch.zeros(env.num_envs, env.num_actions)
    actions[:, -2:] = torch.tensor([0.3, -0.2])
    for _ in range(7):
        env.step(actions)
    state = env.state_dict()
    other = LocomotionEnv(small("g1_flat_gait"))
    other.load_state_dict(state)
    assert torch.equal(other.gait_prior.phase, env.gait_prior.phase)
    assert not torch.equal(other.gait_prior.phase, other.gait_prior.offsets.expand_as(other.gait_prior.phase))


def test_bad_joint_profiles_are_refused_in_one_line():
    with pytest.raises(ValueError, match="needs one left and one right leg; robot.foot_bodies give"):
        _prior(a1_env_cfg, swing_joints={"calf": 1.0})
    with pytest.raises(ValueError, match="needs robot.swing_joints"):
        _prior(g1_env_cfg, swing_joints={})
    with pytest.raises(ValueError, match=r"names \['elbow'\], which match none of the joints"):
        _prior(g1_env_cfg, swing_joints={"knee": 2.0, "elbow": 1.0})
    with pytest.raises(ValueError, match="does not lift left_ankle_roll_link from the default pose"):
        _prior(g1_env_cfg, swing_joints={"hip_pitch": 1.0, "knee": -2.0, "ankle_pitch": 1.0})
    with pytest.raises(ValueError, match="'hop' is not a gait; use none or one of"):
        _prior(g1_env_cfg, mode="hop")
    with pytest.raises(ValueError, match=r"takes \['left_ankle_pitch_joint'\] past their limits; lower the swing"):
        _prior(g1_env_cfg, swing_joints={"knee": 1.0, "ankle_pitch": 2.0})  # ankle -0.2 + 2 x 0.53 > its 0.52


@pytest.mark.parametrize("make", [g1_env_cfg, cassie_env_cfg])
def test_the_real_biped_env_lifts_its_swinging_feet_open_loop(make):
    env = open_loop_gait_env(make, "alternate")
    assert env.num_actions == 14
    zero = torch.zeros(env.num_envs, env.num_actions)
    heights, phases = [], []
    for _ in range(150):
        env.step(zero)
        heights.append(env.sim.foot_pos[:, :, 2].clone())
        phases.append(env.gait_prior.phase.clone())
    z, p = torch.stack(heights[25:]), torch.stack(phases[25:])
    swing, stance = (p > 0.65) & (p < 0.85), p < 0.4
    # measured: the G1's feet 3 cm and Cassie's 2 cm higher around mid-swing than in stance, under the PD lag
    # (open loop, a biped falls within a few seconds: the residuals are the policy's to balance it)
    assert z[swing].mean() - z[stance].mean() > 0.01


def test_the_g1_gait_task_steps_at_its_clock_and_rewards_read_the_priors_phases():
    from tests.env_helpers import small

    env = LocomotionEnv(small("g1_flat_gait"))
    cfg = env.cfg
    assert cfg.gait_prior.frequency == pytest.approx(1.0 / cfg.gait.period)  # 1.25 Hz: the G1's 0.8 s clock
    assert cfg.gait_prior.stance_fraction == cfg.rewards.stance_phase
    actions = torch.zeros(env.num_envs, env.num_actions)
    actions[:, -2:] = 0.5  # frequency offsets: the prior's phases leave the clock
    for _ in range(10):
        env.step(actions)
    inputs = env._reward_inputs(torch.zeros_like(env.foot_contact))  # what the contact reward reads
    assert torch.allclose(inputs.leg_phase, env.gait_prior.phase)
    assert not torch.allclose(inputs.leg_phase, (env.gait_phase()[:, None] + env.gait_offsets) % 1.0)


def test_gait_alternate_on_g1_flat_follows_the_clock_too():
    from envs.launch import load_task
    from legged_snn.cli import build_parser

    env_cfg, _ = load_task(build_parser("t").parse_args(["--task", "g1_flat", "--gait", "alternate"]))
    assert env_cfg.gait_prior.frequency == pytest.approx(1.25) and env_cfg.gait_prior.stance_fraction == 0.55


def test_a_resumed_or_played_run_takes_its_gait_and_swing_joints_unless_gait_is_given(tmp_path):
    """trained_gait/apply_gait read params/env.yaml as train.py writes it: the prior's fields and the robot's
    swing_joints come back; --gait leaves the current config alone; a run without a prior gives None."""
    import dataclasses

    import yaml

    from envs.launch import apply_gait, trained_gait
    from legged_snn.registry import load

    trained, _ = load("g1_flat_gait")
    trained.gait_prior.frequency = 1.7
    trained.robot.swing_joints = {"hip_pitch": -0.5, "knee": 1.0}
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "env.yaml").write_text(yaml.safe_dump(dataclasses.asdict(trained), sort_keys=False))

    gait = trained_gait(str(tmp_path))
    assert gait is not None and gait.prior["mode"] == "alternate"
    assert gait.swing_joints == {"hip_pitch": -0.5, "knee": 1.0}
    fresh, _ = load("g1_flat")
    apply_gait(fresh, gait, None)
    assert fresh.gait_prior.mode == "alternate" and fresh.gait_prior.frequency == 1.7
    assert fresh.robot.swing_joints == {"hip_pitch": -0.5, "knee": 1.0}
    untouched, _ = load("g1_flat")
    apply_gait(untouched, gait, "none")
    assert untouched.gait_prior.mode == "none" and untouched.robot.swing_joints != gait.swing_joints

    flat, _ = load("a1_flat")
    (tmp_path / "params" / "env.yaml").write_text(yaml.safe_dump(dataclasses.asdict(flat), sort_keys=False))
    assert trained_gait(str(tmp_path)) is None
