"""Unitree G1, 12-dof legs (arms and waist fixed): only what differs from the locomotion defaults
(unitree_rl_gym's G1 figures): gait clock, humanoid reward terms, pushes every 5 s."""

from __future__ import annotations

from envs.locomotion.config import LocomotionEnvCfg

SIDES = ("left", "right")
PARTS = ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")
JOINTS = [f"{side}_{part}_joint" for side in SIDES for part in PARTS]


def g1_env_cfg() -> LocomotionEnvCfg:
    """G1 on the default (flat) world, with the 0.8 s gait clock in its observation (obs 50)."""
    cfg = LocomotionEnvCfg()
    r = cfg.robot
    r.urdf = "resources/urdf/g1/g1_12dof.urdf"
    r.joint_names = list(JOINTS)
    q0 = {"hip_pitch": -0.1, "knee": 0.3, "ankle_pitch": -0.2}
    r.default_joint_pos = {f"{side}_{part}_joint": q0.get(part, 0.0) for side in SIDES for part in PARTS}
    r.kp = {"hip_yaw": 100.0, "hip_roll": 100.0, "hip_pitch": 100.0, "knee": 150.0, "ankle": 40.0}
    r.kd = {"hip_yaw": 2.0, "hip_roll": 2.0, "hip_pitch": 2.0, "knee": 4.0, "ankle": 2.0}
    # reflected rotor inertia of the G1's motors (7520-14 hip pitch/yaw, 7520-22 hip roll/knee, two 5020 per
    # ankle; the figures mjlab publishes): without it the 0.6 kg ankle-roll link under kp 40 is past the
    # explicit-stiffness limit at dt 0.005: 5 blow-ups in 128 envs x 150 random-action steps, none with it
    r.armature = {"hip_yaw": 0.010177520, "hip_roll": 0.025101925, "hip_pitch": 0.010177520,
                  "knee": 0.025101925, "ankle": 0.00721945}
    r.action_scale = 0.25
    r.foot_bodies = [f"{side}_ankle_roll_link" for side in SIDES]
    # the joint-space gait prior's swing (gait_joint.py): hip pitch -1, knee 2, ankle pitch -1 lifts the foot
    # almost straight up with the sole level (checked by FK)
    r.swing_joints = {"hip_pitch": -1.0, "knee": 2.0, "ankle_pitch": -1.0}
    # unitree_rl_gym's "hip" and "knee" links; the hip-pitch housing has no collision geom in our model (its
    # penalty could never fire), so it is not watched (the model builder refuses geomless watched bodies)
    r.penalize_contacts_on = [f"{side}_{part}_link" for side in SIDES for part in ("hip_roll", "hip_yaw", "knee")]
    r.terminate_after_contacts_on = ["pelvis"]
    r.max_roll, r.max_pitch = 0.8, 1.0  # unitree_rl_gym ends a G1 episode past these (rad)
    r.init_pos = (0.0, 0.0, 0.8)
    cfg.gait.enabled = True
    cfg.gait.period = 0.8
    cfg.gait.offsets = (0.0, 0.5)  # left, right
    dr = cfg.domain_rand
    dr.friction_range = (0.1, 1.25)
    dr.randomize_base_mass = True
    dr.added_mass_range = (-1.0, 3.0)
    dr.push_interval_s = 5.0
    dr.max_push_vel_xy = 1.5
    rw = cfg.rewards
    rw.scales.update({
        "tracking_lin_vel": 1.0, "tracking_ang_vel": 0.5, "lin_vel_z": -2.0, "ang_vel_xy": -0.05,
        "orientation": -1.0, "base_height": -10.0, "dof_acc": -2.5e-7, "dof_vel": -1e-3, "feet_air_time": 0.0,
        "collision": 0.0, "action_rate": -0.01, "dof_pos_limits": -5.0, "alive": 0.15, "hip_pos": -1.0,
        "termination": -200.0, "contact_no_vel": -0.2, "feet_swing_height": -20.0, "contact": 0.18,
    })
    rw.base_height_target = 0.78
    rw.soft_dof_pos_limit = 0.9
    rw.hip_pos_joints = [f"{side}_{part}_joint" for side in SIDES for part in ("hip_roll", "hip_yaw")]
    rw.stance_phase = 0.55
    rw.feet_swing_height_target = 0.08
    # unitree_rl_gym keeps legged_gym's clipping at zero and no fall penalty; on a CPU sample budget that leaves
    # a falling humanoid almost no signal. Cassie's choice instead (no clipping, termination -200), measured with
    # the MLP, 1024 envs, 4 min: mean episode 1.6 s after 2.8 M steps clipped vs 3.3 s after 2.9 M steps without
    rw.only_positive_rewards = False
    return cfg
