"""Agility Robotics Cassie: only what differs from the locomotion defaults (legged_gym's Cassie figures).

The model is legged_gym's tree of 12 driven joints: rigid knee spring, driven tarsus and toe, no achilles
or plantar rods (see the URDF's header).
"""

from __future__ import annotations

from envs.locomotion.config import LocomotionEnvCfg

SIDES = ("left", "right")
PARTS = ("hip_abduction", "hip_rotation", "hip_flexion", "thigh_joint", "ankle_joint", "toe_joint")
JOINTS = [f"{part}_{side}" for side in SIDES for part in PARTS]


def cassie_env_cfg() -> LocomotionEnvCfg:
    """Cassie on the default (flat) world; an enabled height scan is legged_gym's 11 x 11 over 1 x 1 m."""
    cfg = LocomotionEnvCfg()
    r = cfg.robot
    r.urdf = "resources/urdf/cassie/cassie.urdf"
    r.joint_names = list(JOINTS)
    q0 = {"hip_rotation": 0.0, "hip_flexion": 1.0, "thigh_joint": -1.8, "ankle_joint": 1.57, "toe_joint": -1.57}
    r.default_joint_pos = {f"{part}_{side}": q0.get(part, 0.0) for side in SIDES for part in PARTS}
    r.default_joint_pos["hip_abduction_left"] = 0.1
    r.default_joint_pos["hip_abduction_right"] = -0.1
    r.kp = {"hip_abduction": 100.0, "hip_rotation": 100.0, "hip_flexion": 200.0, "thigh_joint": 200.0,
            "ankle_joint": 200.0, "toe_joint": 40.0}
    r.kd = {"hip_abduction": 3.0, "hip_rotation": 3.0, "hip_flexion": 6.0, "thigh_joint": 6.0,
            "ankle_joint": 6.0, "toe_joint": 1.0}
    r.action_scale = 0.5
    r.foot_bodies = [f"{side}_toe" for side in SIDES]
    # the joint-space gait prior's swing (gait_joint.py): the knee (thigh_joint) folds twice the hip's flexion and
    # the ankle and toe undo the net pitch, so the toe rises almost straight up and level (checked by FK)
    r.swing_joints = {"hip_flexion": 1.0, "thigh_joint": -2.0, "ankle_joint": 2.0, "toe_joint": -1.0}
    r.penalize_contacts_on = []
    # legged_gym's Cassie collides with its pelvis and toes only: a folding robot's legs pass through the floor
    # until the pelvis lands and the episode ends. Ours has leg shapes, so their contact ends it instead (a robot
    # resting on its knees would otherwise live on, unpunished)
    r.terminate_after_contacts_on = ["pelvis"] + [f"{side}_{part}" for side in SIDES for part in ("thigh", "shin",
                                                                                                 "tarsus")]
    r.init_pos = (0.0, 0.0, 1.0)
    cfg.height_scan.x = (-0.5, 0.5, 11)
    cfg.height_scan.y = (-0.5, 0.5, 11)
    rw = cfg.rewards
    rw.scales.update({
        "termination": -200.0, "tracking_ang_vel": 1.0, "torques": -5e-6, "dof_acc": -2e-7, "lin_vel_z": -0.5,
        "feet_air_time": 5.0, "dof_pos_limits": -1.0, "no_fly": 0.25, "ang_vel_xy": 0.0,
    })
    rw.only_positive_rewards = False
    rw.soft_dof_pos_limit = 0.95
    rw.soft_dof_vel_limit = 0.9
    rw.soft_torque_limit = 0.9
    rw.max_contact_force = 300.0
    return cfg
