"""The Backend protocol: what an env may ask of a simulator, and the state it reads back.

Every tensor in :class:`SimState` is (N, ...) float32 on the backend's device, refreshed in place after
each ``step``/``reset`` so that an env may keep references to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from legged_snn.sim.math import quat_rotate_inverse


@dataclass
class SimState:
    """Robot state after the last step; world frame unless the name says ``base``."""

    base_pos: torch.Tensor  # (N, 3) m
    base_quat: torch.Tensor  # (N, 4) w, x, y, z
    base_lin_vel: torch.Tensor  # (N, 3) m/s, base frame
    base_ang_vel: torch.Tensor  # (N, 3) rad/s, base frame
    projected_gravity: torch.Tensor  # (N, 3) unit gravity in the base frame
    joint_pos: torch.Tensor  # (N, J) rad
    joint_vel: torch.Tensor  # (N, J) rad/s
    joint_torque: torch.Tensor  # (N, J) N m, applied by the actuators in the last physics step
    foot_pos: torch.Tensor  # (N, F, 3) m
    contact_force: torch.Tensor  # (N, B, 3) N on each watched body from its contacts (feet first)
    contact_count: torch.Tensor  # (N, B) number of contacts on each watched body

    @staticmethod
    def zeros(n: int, joints: int, feet: int, bodies: int, device: str | torch.device = "cpu") -> SimState:
        """Allocate a state of the given sizes."""
        z = lambda *s: torch.zeros(*s, device=device)  # noqa: E731
        quat = z(n, 4)
        quat[:, 0] = 1.0
        grav = z(n, 3)
        grav[:, 2] = -1.0
        return SimState(z(n, 3), quat, z(n, 3), z(n, 3), grav, z(n, joints), z(n, joints), z(n, joints),
                        z(n, feet, 3), z(n, bodies, 3), z(n, bodies))


def fill_state(s: SimState, qpos: torch.Tensor, qvel: torch.Tensor, gravity: torch.Tensor, joint_q: torch.Tensor,
               joint_d: torch.Tensor, act_force: torch.Tensor, xpos: torch.Tensor, feet: torch.Tensor,
               sensordata: torch.Tensor, contact_adr: torch.Tensor, force_cols: torch.Tensor) -> None:
    """Copy a backend's (N, ...) MjData-layout views into the float32 state (no per-env loop): base pose and
    velocity from the free joint, joints, torques, foot positions, contact counts and forces (as reactions)."""
    s.base_pos.copy_(qpos[:, :3])
    s.base_quat.copy_(qpos[:, 3:7])
    s.base_quat.div_(s.base_quat.norm(dim=-1, keepdim=True).clamp_min(1e-9))
    s.base_lin_vel.copy_(quat_rotate_inverse(s.base_quat, qvel[:, :3].float()))
    s.base_ang_vel.copy_(qvel[:, 3:6])  # a free joint's angular velocity is in the body frame
    s.projected_gravity.copy_(quat_rotate_inverse(s.base_quat, gravity))
    s.joint_pos.copy_(qpos[:, joint_q])
    s.joint_vel.copy_(qvel[:, joint_d])
    s.joint_torque.copy_(act_force)
    s.foot_pos.copy_(xpos[:, feet])
    s.contact_count.copy_(sensordata[:, contact_adr])
    # the sensor reports the force the body exerts; the state holds the reaction on the body
    s.contact_force.copy_(sensordata[:, force_cols].neg())


class Backend(Protocol):
    """A batch of N copies of one robot model, stepped together."""

    num_envs: int
    num_joints: int
    device: torch.device
    physics_dt: float  # s per physics step
    decimation: int  # physics steps per step()
    state: SimState
    total_mass: float  # kg, nominal
    joint_range: torch.Tensor  # (J, 2) rad
    effort_limit: torch.Tensor  # (J,) N m

    def step(self, joint_targets: torch.Tensor, latency: torch.Tensor | None = None) -> None:
        """Hold (N, J) position targets for ``decimation`` physics steps, then refresh ``state``. With
        ``latency`` (N,) physics steps, env i keeps its previous targets for its first latency[i] steps."""

    def reset(self, env_ids: torch.Tensor, root_pose: torch.Tensor, root_vel: torch.Tensor,
              joint_pos: torch.Tensor, joint_vel: torch.Tensor) -> None:
        """Put envs ``env_ids`` (K,) in the given state: root_pose (K, 7) pos + quat wxyz, root_vel (K, 6)
        world linear + base angular velocity, joint_pos/joint_vel (K, J)."""

    def push(self, env_ids: torch.Tensor, base_lin_vel_xy: torch.Tensor) -> None:
        """Set the world-frame xy velocity (K, 2) m/s of the root of envs ``env_ids``."""

    def set_friction(self, env_ids: torch.Tensor, friction: torch.Tensor) -> None:
        """Sliding friction (K,) of every geom in those envs."""

    def set_added_mass(self, env_ids: torch.Tensor, added_mass: torch.Tensor) -> None:
        """Add (K,) kg to the root body of those envs (relative to the nominal mass)."""

    def set_motor_strength(self, env_ids: torch.Tensor, scale: torch.Tensor) -> None:
        """Scale Kp and Kd (so every PD torque) of those envs by (K,) factors of the nominal gains."""

    def get_friction(self) -> torch.Tensor:
        """(N,) sliding friction of each env's floor."""

    def get_added_mass(self) -> torch.Tensor:
        """(N,) kg added to each env's root body."""
