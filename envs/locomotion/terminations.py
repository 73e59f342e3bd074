"""Episode ends: contact on termination bodies, simulator blow-ups, time-outs (flagged separately)."""

from __future__ import annotations

import torch


def contact_termination(contact_force: torch.Tensor, body_ids: torch.Tensor, threshold: float = 1.0) -> torch.Tensor:
    """(N,) True where any of the (N, B, 3) contact forces on ``body_ids`` exceeds ``threshold`` N."""
    if len(body_ids) == 0:
        return torch.zeros(contact_force.shape[0], dtype=torch.bool)
    return torch.any(contact_force[:, body_ids].norm(dim=-1) > threshold, dim=1)


def tilted(projected_gravity: torch.Tensor, max_roll: float, max_pitch: float) -> torch.Tensor:
    """(N,) True where the base's roll or pitch (rad, x-y-z Euler angles, read from the (N, 3) unit gravity in the
    base frame) exceeds its limit; a limit of 0 is off."""
    out = torch.zeros(projected_gravity.shape[0], dtype=torch.bool)
    gx, gy, gz = projected_gravity.unbind(dim=1)
    if max_pitch > 0:
        out |= torch.asin(gx.clamp(-1.0, 1.0)).abs() > max_pitch
    if max_roll > 0:
        out |= torch.atan2(-gy, -gz).abs() > max_roll
    return out


def invalid_state(*tensors: torch.Tensor) -> torch.Tensor:
    """(N,) True where any of the (N, ...) tensors holds NaN or inf."""
    bad = torch.zeros(tensors[0].shape[0], dtype=torch.bool)
    for t in tensors:
        bad |= ~torch.isfinite(t.reshape(t.shape[0], -1)).all(dim=1)
    return bad


def runaway_joints(joint_vel: torch.Tensor, limit: float) -> torch.Tensor:
    """(N,) True where any joint of the (N, J) velocities (rad/s) spins faster than ``limit``: the simulation is
    diverging (MuJoCo only flags it a step or two later, after finite but absurd states have been rewarded)."""
    return (joint_vel.abs() > limit).any(dim=1)


def time_out(episode_length: torch.Tensor, max_episode_length: int) -> torch.Tensor:
    """(N,) True where the episode ran its full length."""
    return episode_length >= max_episode_length
