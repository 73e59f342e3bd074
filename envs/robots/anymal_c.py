"""ANYbotics ANYmal C: only what differs from the locomotion defaults (legged_gym's ANYmal-C figures).

legged_gym drives this robot through an actuator network that is not public data; here it is the PD law
with legged_gym's fallback gains (Kp 80, Kd 2).
"""

from __future__ import annotations

from envs.locomotion.config import LocomotionEnvCfg

LEGS = ("LF", "RF", "LH", "RH")
JOINTS = [f"{leg}_{part}" for leg in LEGS for part in ("HAA", "HFE", "KFE")]


def anymal_c_env_cfg() -> LocomotionEnvCfg:
    """ANYmal C with legged_gym's rough-config robot settings, on the default (flat) world."""
    cfg = LocomotionEnvCfg()
    r = cfg.robot
    r.urdf = "resources/urdf/anymal_c/anymal_c.urdf"
    r.joint_names = list(JOINTS)
    r.default_joint_pos = {}
    for leg in LEGS:
        front = leg[1] == "F"
        r.default_joint_pos[f"{leg}_HAA"] = 0.0
        r.default_joint_pos[f"{leg}_HFE"] = 0.4 if front else -0.4
        r.default_joint_pos[f"{leg}_KFE"] = -0.8 if front else 0.8
    r.kp = {"HAA": 80.0, "HFE": 80.0, "KFE": 80.0}
    r.kd = {"HAA": 2.0, "HFE": 2.0, "KFE": 2.0}
    # legged_gym: 0.5 through its actuator network. On plain PD (kp 80) the robots fall under PPO's initial
    # N(0, 1) exploration (0.23 falls per env-second; training episodes of ~0.5 s, reward 0); at 0.25, 0.005
    # (tests/test_robots.py::test_a_quadruped_survives_exploration_noise, docs/legged_gym_differences.md)
    r.action_scale = 0.25
    r.foot_bodies = [f"{leg}_FOOT" for leg in LEGS]
    r.penalize_contacts_on = [f"{leg}_{part}" for leg in LEGS for part in ("SHANK", "THIGH")]
    r.terminate_after_contacts_on = ["base"]
    r.init_pos = (0.0, 0.0, 0.6)
    cfg.domain_rand.randomize_base_mass = True
    cfg.domain_rand.added_mass_range = (-5.0, 5.0)
    cfg.rewards.base_height_target = 0.5
    cfg.rewards.max_contact_force = 500.0
    return cfg


def flat_variant(cfg: LocomotionEnvCfg) -> LocomotionEnvCfg:
    """What legged_gym's ANYmal-C flat config changes: reward scales, the friction range and the commands (yaw
    rate drawn directly, resampled every 4 s)."""
    cfg.commands.heading_command = False
    cfg.commands.resampling_time = 4.0
    cfg.commands.ang_vel_yaw = (-1.5, 1.5)
    cfg.rewards.scales["orientation"] = -5.0
    cfg.rewards.scales["torques"] = -2.5e-5
    cfg.rewards.scales["feet_air_time"] = 2.0
    cfg.domain_rand.friction_range = (0.0, 1.5)
    return cfg
