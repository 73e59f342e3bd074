"""Reward terms as pure functions ``f(s, cfg) -> (N,)``; the env weights them by ``scale * dt``.

``s`` is a :class:`RewardInputs`: the simulator state plus the env buffers a term may read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from envs.locomotion.config import RewardsCfg
from legged_snn.sim.backend import SimState


@dataclass
class RewardInputs:
    """What reward terms read; every tensor is (N, ...)."""

    sim: SimState
    commands: torch.Tensor  # (N, 3) vx, vy (m/s), yaw rate (rad/s)
    actions: torch.Tensor  # (N, A)
    last_actions: torch.Tensor  # (N, A)
    last_joint_vel: torch.Tensor  # (N, J) rad/s
    default_joint_pos: torch.Tensor  # (J,) rad
    soft_joint_range: torch.Tensor  # (J, 2) rad
    effort_limit: torch.Tensor  # (J,) N m
    feet_air_time: torch.Tensor  # (N, F) s, before this step's update
    first_contact: torch.Tensor  # (N, F) bool, foot touched down this step
    foot_contact: torch.Tensor  # (N, F) bool
    penalized_ids: torch.Tensor  # (P,) indices into sim.contact_force
    reset_buf: torch.Tensor  # (N,) bool, terminated this step
    time_out_buf: torch.Tensor  # (N,) bool
    dt: float  # policy step (s)
    # filled by the env on every step; the defaults only serve hand-made inputs that do not use them
    base_height: torch.Tensor | None = None  # (N,) m, base above the ground under it (None: world z)
    foot_vel: torch.Tensor | None = None  # (N, F, 3) m/s, world velocity of each foot over the last policy step
    foot_height: torch.Tensor | None = None  # (N, F) m, foot origin above the ground under it
    leg_phase: torch.Tensor | None = None  # (N, F) gait phase of each foot in [0, 1)
    hip_joint_ids: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))  # (H,)


def tracking_lin_vel(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    err = torch.sum(torch.square(s.commands[:, :2] - s.sim.base_lin_vel[:, :2]), dim=1)
    return torch.exp(-err / cfg.tracking_sigma)


def tracking_ang_vel(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    err = torch.square(s.commands[:, 2] - s.sim.base_ang_vel[:, 2])
    return torch.exp(-err / cfg.tracking_sigma)


def lin_vel_z(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    return torch.square(s.sim.base_lin_vel[:, 2])


def ang_vel_xy(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    return torch.sum(torch.square(s.sim.base_ang_vel[:, :2]), dim=1)


def orientation(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    return torch.sum(torch.square(s.sim.projected_gravity[:, :2]), dim=1)


def base_height(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    h = s.sim.base_pos[:, 2] if s.base_height is None else s.base_height
    return torch.square(h - cfg.base_height_target)


def torques(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    return torch.sum(torch.square(s.sim.joint_torque), dim=1)


def dof_vel(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    return torch.sum(torch.square(s.sim.joint_vel), dim=1)


def dof_acc(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    return torch.sum(torch.square((s.last_joint_vel - s.sim.joint_vel) / s.dt), dim=1)


def action_rate(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    return torch.sum(torch.square(s.last_actions - s.actions), dim=1)


def collision(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    force = s.sim.contact_force[:, s.penalized_ids].norm(dim=-1)
    return torch.sum((force > 0.1).float(), dim=1)


def termination(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    return (s.reset_buf & ~s.time_out_buf).float()


def dof_pos_limits(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    q = s.sim.joint_pos
    below = -(q - s.soft_joint_range[:, 0]).clamp(max=0.0)
    above = (q - s.soft_joint_range[:, 1]).clamp(min=0.0)
    return torch.sum(below + above, dim=1)


def dof_vel_limits(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    over = s.sim.joint_vel.abs() - cfg.dof_vel_limit * cfg.soft_dof_vel_limit
    return torch.sum(over.clamp(0.0, 1.0), dim=1)


def torque_limits(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    over = s.sim.joint_torque.abs() - s.effort_limit * cfg.soft_torque_limit
    return torch.sum(over.clamp(min=0.0), dim=1)


def feet_air_time(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    air = s.feet_air_time + s.dt
    rew = torch.sum((air - 0.5) * s.first_contact.float(), dim=1)
    return rew * (torch.norm(s.commands[:, :2], dim=1) > 0.1).float()


def feet_stumble(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    nf = s.feet_air_time.shape[1]
    f = s.sim.contact_force[:, :nf]
    return torch.any(f[..., :2].norm(dim=-1) > 5.0 * f[..., 2].abs(), dim=1).float()


def stand_still(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    dev = torch.sum(torch.abs(s.sim.joint_pos - s.default_joint_pos), dim=1)
    return dev * (torch.norm(s.commands[:, :2], dim=1) < 0.1).float()


def feet_contact_forces(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    nf = s.feet_air_time.shape[1]
    f = s.sim.contact_force[:, :nf].norm(dim=-1)
    return torch.sum((f - cfg.max_contact_force).clamp(min=0.0), dim=1)


def _feet_touching(s: RewardInputs, threshold: float = 1.0) -> torch.Tensor:
    """(N, F) bool: net contact force on each foot above ``threshold`` N."""
    nf = s.feet_air_time.shape[1]
    return s.sim.contact_force[:, :nf].norm(dim=-1) > threshold


def no_fly(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    """1 when exactly one foot pushes on the ground (> 0.1 N up), else 0 (legged_gym's Cassie term)."""
    nf = s.feet_air_time.shape[1]
    down = s.sim.contact_force[:, :nf, 2] > 0.1
    return (down.sum(dim=1) == 1).float()


def alive(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    """1 per step survived."""
    return torch.ones(s.commands.shape[0])


def hip_pos(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    """Squared offset from q0 of the joints named in cfg.hip_pos_joints (a humanoid's hip roll and yaw)."""
    ids = s.hip_joint_ids
    return torch.sum(torch.square(s.sim.joint_pos[:, ids] - s.default_joint_pos[ids]), dim=1)


def contact_no_vel(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    """Squared velocity of the feet that touch the ground (feet should not slide)."""
    moving = s.foot_vel * _feet_touching(s).unsqueeze(-1)
    return torch.sum(torch.square(moving), dim=(1, 2))


def feet_swing_height(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    """Squared miss of the swing-height target by the feet in the air."""
    miss = torch.square(s.foot_height - cfg.feet_swing_height_target)
    return torch.sum(miss * ~_feet_touching(s), dim=1)


def contact(s: RewardInputs, cfg: RewardsCfg) -> torch.Tensor:
    """Feet whose contact matches the gait clock: down while phase < stance_phase, up after."""
    stance = s.leg_phase < cfg.stance_phase
    return torch.sum((s.foot_contact == stance).float(), dim=1)


REWARD_TERMS: dict[str, Callable[[RewardInputs, RewardsCfg], torch.Tensor]] = {
    f.__name__: f for f in (
        tracking_lin_vel, tracking_ang_vel, lin_vel_z, ang_vel_xy, orientation, base_height, torques, dof_vel,
        dof_acc, action_rate, collision, termination, dof_pos_limits, dof_vel_limits, torque_limits,
        feet_air_time, feet_stumble, stand_still, feet_contact_forces, no_fly, alive, hip_pos, contact_no_vel,
        feet_swing_height, contact,
    )
}
"""Every known term by name; a task's ``rewards.scales`` picks from these."""
