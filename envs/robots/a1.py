"""Unitree A1: only what differs from the locomotion defaults (legged_gym's A1 figures)."""

from __future__ import annotations

from envs.locomotion.config import LocomotionEnvCfg

LEGS = ("FR", "FL", "RR", "RL")
JOINTS = [f"{leg}_{part}_joint" for leg in LEGS for part in ("hip", "thigh", "calf")]


def a1_env_cfg() -> LocomotionEnvCfg:
    """A1 on the default (flat) world."""
    cfg = LocomotionEnvCfg()
    r = cfg.robot
    r.urdf = "resources/urdf/a1/a1.urdf"
    r.joint_names = list(JOINTS)
    r.default_joint_pos = {}
    for leg in LEGS:
        r.default_joint_pos[f"{leg}_hip_joint"] = 0.1 if leg[1] == "L" else -0.1
        r.default_joint_pos[f"{leg}_thigh_joint"] = 0.8 if leg[0] == "F" else 1.0
        r.default_joint_pos[f"{leg}_calf_joint"] = -1.5
    r.kp = {"joint": 20.0}
    r.kd = {"joint": 0.5}
    r.action_scale = 0.25
    r.foot_bodies = [f"{leg}_foot" for leg in LEGS]
    r.penalize_contacts_on = [f"{leg}_{part}" for leg in LEGS for part in ("thigh", "calf")]
    r.terminate_after_contacts_on = ["base"]
    r.init_pos = (0.0, 0.0, 0.42)
    cfg.rewards.scales["torques"] = -0.0002
    cfg.rewards.scales["dof_pos_limits"] = -10.0
    cfg.rewards.soft_dof_pos_limit = 0.9
    cfg.rewards.base_height_target = 0.25
    return cfg
