"""Every registered task: the model builds, 2 envs step without NaN, a dropped robot lands on its feet,
observation and action sizes match the config; the per-robot reward terms on hand-made state; clear errors
when a URDF lacks what a config names."""

from __future__ import annotations

import math
import os

import mujoco
import pytest
import torch

import envs.tasks  # noqa: F401  (registers the tasks)
from envs.locomotion import rewards as R
from envs.locomotion.config import LocomotionEnvCfg, RewardsCfg
from envs.locomotion.env import LocomotionEnv, model_cfg
from legged_snn.registry import load, task_names
from legged_snn.sim.backend import SimState
from legged_snn.sim.model import ModelError, build_model
from tests.env_helpers import small

TASKS = task_names()
# ROBOT_FACTS section 0: total mass (kg) and base height standing at q0 on flat ground (m; A1: rear/front mean)
FACTS = {"a1": (12.454, 0.298), "anymal_c": (52.135, 0.5488), "cassie": (30.468, 0.8547), "g1": (32.107, 0.7842)}
# policy observation sizes stated by legged_gym / unitree_rl_gym (G1: their 47 + base lin vel 3)
OBS = {"a1_flat": 48, "a1_rough": 235, "anymal_c_flat": 48, "anymal_c_rough": 235, "cassie_flat": 48,
       "cassie_rough": 169, "g1_flat": 50, "g1_rough": 237,
       "a1_flat_gait": 48 + 4 + 8, "a1_rough_gait": 235 + 4 + 8,  # gait prior: 4 frequency actions, 4 leg phases
       "cassie_flat_gait": 48 + 2 + 4, "g1_flat_gait": 50 + 2 + 4}  # bipeds: 2 frequency actions, 2 leg phases


def robot_of(task: str) -> str:
    return next(r for r in sorted(FACTS, key=len, reverse=True) if task.startswith(r + "_"))


def test_every_task_has_facts():
    assert {"anymal_c_flat", "anymal_c_rough", "cassie_flat", "cassie_rough", "g1_flat", "g1_rough"} <= set(TASKS)
    assert all(robot_of(t) in FACTS for t in TASKS)


@pytest.mark.parametrize("task", TASKS)
def test_model_builds(task):
    cfg = small(task)
    model, info = build_model(model_cfg(cfg))
    joints = len(cfg.robot.joint_names)
    assert model.nu == joints and model.nq == 7 + joints and model.nv == 6 + joints
    assert info.total_mass == pytest.approx(FACTS[robot_of(task)][0], abs=2e-3)
    assert mujoco.mjtGeom.mjGEOM_MESH not in set(model.geom_type.tolist())  # primitives only
    assert (info.effort_limit > 0).all() and (info.joint_range[:, 1] > info.joint_range[:, 0]).all()
    for foot in cfg.robot.foot_bodies:
        assert any(model.geom_bodyid[g] == model.body(foot).id for g in range(model.ngeom)), foot


@pytest.mark.parametrize("task", TASKS)
def test_zero_actions_for_50_steps_stay_finite(task):
    env = LocomotionEnv(small(task))
    for _ in range(50):
        obs, rew, dones, _ = env.step(torch.zeros(2, env.num_actions))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(obs["critic"]).all()
        assert torch.isfinite(rew).all()
    assert env.blowups_total == 0


def random_steps(cfg: LocomotionEnvCfg, steps: int) -> tuple[LocomotionEnv, float]:
    """Step with exploration-sized actions (std 1, seeded); the env and the lowest step reward seen."""
    cfg.rewards.only_positive_rewards = False
    env = LocomotionEnv(cfg)
    gen = torch.Generator().manual_seed(0)
    worst = 0.0
    for _ in range(steps):
        _, rew, _, _ = env.step(torch.randn(env.num_envs, env.num_actions, generator=gen))
        worst = min(worst, float(rew.min()))
    return env, worst


@pytest.mark.parametrize("task", TASKS)
def test_random_actions_never_give_absurd_rewards(task):
    """A diverging simulation (a joint past sim.runaway_joint_vel, or MuJoCo's own reset) is reset and scores 0:
    before that rule one ANYmal step under random actions scored -1.4e6 and one G1 step -6e3."""
    _, worst = random_steps(small(task, num_envs=64), 40)
    assert worst > -10.0, f"{task}: step reward {worst:.3g}"


@pytest.mark.parametrize("task", ["a1_flat", "anymal_c_flat"])
def test_a_quadruped_survives_exploration_noise(task):
    """PPO starts from actions ~ N(0, 1): robots that fall within a second or two of that noise never live an episode
    long enough to learn from (anymal_c_flat with legged_gym's action scale 0.5 on PD: 0.23 falls per env-second,
    ~0.5 s episodes and reward 0 in training; with 0.25: 0.005)."""
    cfg, _ = load(task)
    n, steps = 64, 150
    cfg.env.num_envs = n
    torch.manual_seed(0)
    env = LocomotionEnv(cfg)
    falls = 0
    for _ in range(steps):
        _, _, dones, _ = env.step(torch.randn(n, env.num_actions))
        falls += int((dones & ~env.time_out_buf).sum())
    assert falls / (n * steps * env.dt) < 0.05, falls


def test_runaway_joint_is_a_blowup():
    cfg = small("a1_flat")
    cfg.sim.runaway_joint_vel = 1.0  # rad/s: any swing counts
    env, worst = random_steps(cfg, 3)
    assert env.blowups_total > 0 and worst == 0.0


def test_g1_rotor_inertia_keeps_random_actions_stable():
    """The G1's ankle-roll link (0.6 kg, 2e-4 kg m^2) under kp 40 diverges at dt 0.005 without its motors'
    reflected inertia: 5 blow-ups in these 128 x 150 random steps with armature 0, none with it."""
    env, _ = random_steps(small("g1_flat", num_envs=128), 150)
    assert env.blowups_total == 0


def test_armature_table_reaches_each_joint():
    cfg = small("g1_flat")
    model, _ = build_model(model_cfg(cfg))
    for name, part in (("left_knee_joint", "knee"), ("right_ankle_roll_joint", "ankle"), ("left_hip_yaw_joint",
                                                                                             "hip_yaw")):
        assert model.dof_armature[model.joint(name).dofadr[0]] == pytest.approx(cfg.robot.armature[part])
    cfg.robot.armature = 0.02
    model, _ = build_model(model_cfg(cfg))
    assert model.dof_armature[6:] == pytest.approx([0.02] * 12)


@pytest.mark.parametrize("task", TASKS)
def test_dropped_robot_lands_on_its_feet(task):
    cfg = small(task)
    ic, dr = cfg.init_state, cfg.domain_rand
    ic.joint_pos_scale, ic.root_vel, ic.root_xy = (1.0, 1.0), 0.0, 0.0  # exactly q0, at rest, on the spawn point
    dr.push_robots = dr.randomize_friction = dr.randomize_base_mass = False
    dr.randomize_motor_strength = dr.randomize_latency = False
    cfg.gait_prior.mode = "none"  # the robot's own stance at q0 (the gait prior's open loop: tests/test_gait.py)
    env = LocomotionEnv(cfg)
    for _ in range(int(round(0.5 / env.dt))):
        env.step(torch.zeros(2, env.num_actions))  # zero actions = q0 targets
    assert env.episode_length_buf.tolist() == [25, 25]  # never terminated (a reset would respawn it high)
    ground = env.terrain.ground_height(env.sim.base_pos[:, :2])
    height = env.sim.base_pos[:, 2] - ground
    stand = FACTS[robot_of(task)][1]
    assert torch.all((height - stand).abs() < 0.15 * stand), (height.tolist(), stand)
    assert torch.all(env.sim.projected_gravity[:, 2] < -0.9)  # upright
    feet = env.sim.foot_pos
    assert torch.all(feet[..., 2] - env.terrain.ground_height(feet[..., :2]) < 0.1)  # on its feet
    assert torch.all(env.foot_contact.any(dim=1))


@pytest.mark.parametrize("task", TASKS)
def test_observation_and_action_sizes_match_the_config(task):
    cfg = small(task)
    env = LocomotionEnv(cfg)
    joints, feet = len(cfg.robot.joint_names), len(cfg.robot.foot_bodies)
    scan = cfg.height_scan.x[2] * cfg.height_scan.y[2] if cfg.height_scan.enabled else 0
    prior = cfg.gait_prior.mode != "none"  # + one frequency action and a leg phase (sin, cos) per foot
    actions = joints + feet * prior
    dim = 3 + 3 + 3 + 3 + 2 * joints + actions + 2 * cfg.gait.enabled + 2 * feet * prior + scan
    obs = env.get_observations()
    assert env.num_actions == actions and joints == len(cfg.robot.default_joint_pos)
    assert obs["policy"].shape == (2, dim) and env.obs_layout.dim == dim
    assert obs["critic"].shape == (2, dim + 2 + feet)
    if task in OBS:
        assert dim == OBS[task]
    _, rew, _, _ = env.step(torch.zeros(2, actions))
    assert rew.shape == (2,)


# ------------------------------------------------------------------------------ reward terms, by hand
def _inputs(n: int = 3, j: int = 4, f: int = 2, **over) -> R.RewardInputs:
    base = dict(
        sim=SimState.zeros(n, j, f, f + 1), commands=torch.zeros(n, 3), actions=torch.zeros(n, j),
        last_actions=torch.zeros(n, j), last_joint_vel=torch.zeros(n, j), default_joint_pos=torch.zeros(j),
        soft_joint_range=torch.tensor([[-1.0, 1.0]] * j), effort_limit=torch.full((j,), 10.0),
        feet_air_time=torch.zeros(n, f), first_contact=torch.zeros(n, f, dtype=torch.bool),
        foot_contact=torch.zeros(n, f, dtype=torch.bool), penalized_ids=torch.tensor([f]),
        reset_buf=torch.zeros(n, dtype=torch.bool), time_out_buf=torch.zeros(n, dtype=torch.bool), dt=0.02,
    )
    base.update(over)
    return R.RewardInputs(**base)


def test_cassie_no_fly_counts_exactly_one_foot_down():
    s = _inputs()
    s.sim.contact_force[0, 0, 2] = 50.0  # one foot down
    s.sim.contact_force[1, :2, 2] = 50.0  # both down
    s.sim.contact_force[2, 0, 2] = 0.05  # a touch below the 0.1 N threshold: none down
    s.sim.contact_force[2, 2, 2] = 80.0  # a non-foot body does not count
    assert R.no_fly(s, RewardsCfg()).tolist() == [1.0, 0.0, 0.0]


def test_alive_and_hip_pos():
    s = _inputs(default_joint_pos=torch.tensor([0.0, 0.1, 0.0, 0.2]), hip_joint_ids=torch.tensor([1, 3]))
    s.sim.joint_pos[0] = torch.tensor([5.0, 0.4, 9.0, 0.2])  # only joints 1 and 3 count: 0.3^2 + 0
    s.sim.joint_pos[1] = torch.tensor([0.0, -0.1, 0.0, 0.6])  # 0.2^2 + 0.4^2
    assert R.alive(s, RewardsCfg()).tolist() == [1.0, 1.0, 1.0]
    assert R.hip_pos(s, RewardsCfg()).tolist() == pytest.approx([0.09, 0.2, 0.05])  # env 2 at 0: 0.1^2 + 0.2^2


def test_contact_no_vel_only_counts_feet_on_the_ground():
    vel = torch.zeros(3, 2, 3)
    vel[0, 0] = torch.tensor([0.1, 0.2, 0.0])
    vel[0, 1] = torch.tensor([3.0, 0.0, 0.0])  # foot 1 in the air: free to move
    vel[1, 1] = torch.tensor([0.0, 0.0, 0.5])
    s = _inputs(foot_vel=vel)
    s.sim.contact_force[0, 0] = torch.tensor([0.8, 0.0, 0.8])  # norm 1.13 > 1 N: touching
    s.sim.contact_force[1, 1] = torch.tensor([0.0, 0.0, 20.0])
    s.sim.contact_force[2, 0, 2] = 0.5  # below 1 N: not touching
    assert R.contact_no_vel(s, RewardsCfg()).tolist() == pytest.approx([0.05, 0.25, 0.0])


def test_feet_swing_height_only_counts_feet_in_the_air():
    s = _inputs(foot_height=torch.tensor([[0.03, 0.10], [0.0, 0.0], [0.08, 0.2]]))
    s.sim.contact_force[0, 0, 2] = 30.0  # foot 0 of env 0 down: only foot 1 counts
    cfg = RewardsCfg(feet_swing_height_target=0.08)
    assert R.feet_swing_height(s, cfg).tolist() == pytest.approx([0.02 ** 2, 2 * 0.08 ** 2, 0.12 ** 2])


def test_contact_follows_the_gait_clock():
    phase = torch.tensor([[0.2, 0.7], [0.2, 0.7], [0.54, 0.56]])
    touch = torch.tensor([[True, False], [False, True], [True, True]])
    s = _inputs(leg_phase=phase, foot_contact=touch)
    assert R.contact(s, RewardsCfg(stance_phase=0.55)).tolist() == [2.0, 0.0, 1.0]


def test_base_height_reads_the_height_above_ground():
    s = _inputs(base_height=torch.tensor([0.78, 0.68, 0.88]))
    s.sim.base_pos[:, 2] = 5.0  # world z on a raised tile: not what counts
    assert R.base_height(s, RewardsCfg(base_height_target=0.78)).tolist() == pytest.approx([0.0, 0.01, 0.01])


def test_new_terms_are_registered():
    assert {"no_fly", "alive", "hip_pos", "contact_no_vel", "feet_swing_height", "contact"} <= set(R.REWARD_TERMS)


# ------------------------------------------------------------------------------ per-robot configs in the env
def test_g1_gait_clock_in_observation_and_rewards():
    cfg = small("g1_flat")
    cfg.noise.add_noise = False
    env = LocomotionEnv(cfg)
    assert env.hip_joint_ids.tolist() == [1, 2, 7, 8]  # hip roll and yaw of both legs
    assert env.reward_scales["contact"] == pytest.approx(0.18 * env.dt)
    assert env.reward_scales["feet_swing_height"] == pytest.approx(-20.0 * env.dt)
    assert "feet_air_time" not in env.reward_scales
    for _ in range(7):
        obs, *_ = env.step(torch.zeros(2, 12))
    phase = 7 * 0.02 / 0.8
    clock = obs["policy"][:, env.obs_layout.slices()["gait_phase"]]
    assert clock[0].tolist() == pytest.approx([math.sin(2 * math.pi * phase), math.cos(2 * math.pi * phase)], abs=1e-5)
    s = env._reward_inputs(torch.zeros(2, 2, dtype=torch.bool))
    assert s.leg_phase[0].tolist() == pytest.approx([phase, phase + 0.5], abs=1e-6)
    assert s.foot_height[0].tolist() == pytest.approx(env.sim.foot_pos[0, :, 2].tolist())  # flat ground
    assert cfg.domain_rand.push_interval_s == 5.0 and cfg.domain_rand.max_push_vel_xy == 1.5


def test_cassie_and_anymal_configs():
    cassie, _ = load("cassie_rough")
    assert not cassie.rewards.only_positive_rewards and cassie.rewards.scales["no_fly"] == 0.25
    assert cassie.rewards.scales["termination"] == -200.0
    anymal, train = load("anymal_c_flat")
    assert anymal.rewards.scales["orientation"] == -5.0 and anymal.domain_rand.friction_range == (0.0, 1.5)
    c = anymal.commands  # legged_gym's anymal_c_flat: yaw rate drawn directly, new commands every 4 s
    assert not c.heading_command and c.resampling_time == 4.0 and c.ang_vel_yaw == (-1.5, 1.5)
    assert train.policy.actor_hidden_dims == [128, 64, 32] and train.runner.max_iterations == 1000
    assert anymal.robot.kp == {"HAA": 80.0, "HFE": 80.0, "KFE": 80.0}  # PD, no actuator network


def test_gait_offsets_must_match_the_feet():
    cfg = small("g1_flat")
    cfg.gait.offsets = (0.0, 0.25, 0.5)
    with pytest.raises(ValueError, match="gait.offsets has 3 values for 2"):
        LocomotionEnv(cfg)


def test_hip_pos_joints_must_be_actuated():
    cfg = small("g1_flat")
    cfg.rewards.hip_pos_joints = ["waist_yaw_joint"]
    with pytest.raises(ValueError, match="waist_yaw_joint"):
        LocomotionEnv(cfg)


# ------------------------------------------------------------------------------ clear one-line errors
def _edited(task: str, tmp_path, old: str, new: str):
    cfg = model_cfg(small(task))
    text = open(os.path.join(os.path.dirname(os.path.dirname(__file__)), cfg.urdf)).read()
    assert old in text
    path = tmp_path / "robot.urdf"
    path.write_text(text.replace(old, new))
    cfg.urdf = str(path)
    return cfg


def _one_line_error(cfg, match: str) -> None:
    with pytest.raises(ModelError, match=match) as err:
        build_model(cfg)
    assert "\n" not in str(err.value)


def test_missing_foot_body_is_named(tmp_path):
    cfg = _edited("cassie_flat", tmp_path, '"left_toe"', '"left_foot"')
    _one_line_error(cfg, r"lacks foot body\(s\) \['left_toe'\]")


def test_fixed_joint_named_as_actuated_is_named():
    cfg = model_cfg(small("g1_flat"))
    cfg.joint_names = list(cfg.joint_names[:-1]) + ["waist_yaw_joint"]
    _one_line_error(cfg, r"lacks joint\(s\) \['waist_yaw_joint'\] \(fixed joints cannot be actuated\)")


def test_missing_effort_limit_is_named(tmp_path):
    cfg = _edited("g1_flat", tmp_path, 'effort="139" velocity="20"/></joint>\n  <link name="left_knee_link">',
                  'velocity="20"/></joint>\n  <link name="left_knee_link">')
    _one_line_error(cfg, "left_knee_joint has no effort limit")


def test_missing_position_limits_are_named(tmp_path):
    cfg = _edited("anymal_c_flat", tmp_path, 'lower="-0.72" upper="0.72" effort="80"', 'effort="80"')
    _one_line_error(cfg, "LF_HAA has no position limits")


@pytest.mark.parametrize("task", [t for t in TASKS if t.endswith("_flat")])
def test_lower_leg_collision_lies_on_the_knee_to_foot_line(task):
    """Each foot's parent link (shank, calf, tarsus): its capsules and cylinders run along the line from that link's
    joint to the foot at the zero pose (ANYmal-C's shank cylinders once stood 4.6 cm beside it, in the air)."""
    cfg = small(task)
    model, _ = build_model(model_cfg(cfg))
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    tubes = (int(mujoco.mjtGeom.mjGEOM_CAPSULE), int(mujoco.mjtGeom.mjGEOM_CYLINDER))
    checked = 0
    for foot in cfg.robot.foot_bodies:
        fb = model.body(foot).id
        lb = model.body_parentid[fb]
        knee, seg = data.xpos[lb], data.xpos[fb] - data.xpos[lb]
        for g in range(model.ngeom):
            if model.geom_bodyid[g] != lb or int(model.geom_type[g]) not in tubes:
                continue
            c = data.geom_xpos[g]
            t = min(max(float((c - knee) @ seg / (seg @ seg)), 0.0), 1.0)
            off = float(((c - knee - t * seg) ** 2).sum() ** 0.5)
            axis = data.geom_xmat[g].reshape(3, 3)[:, 2]
            cos = abs(float(axis @ seg)) / float((seg @ seg) ** 0.5)
            assert off < 0.01 and cos > 0.99, (foot, model.body(lb).name, round(off, 4), round(cos, 3))
            checked += 1
    assert checked or task.startswith("g1")  # the G1's ankle links carry only the foot's boxes
