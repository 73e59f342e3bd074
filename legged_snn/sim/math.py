"""Quaternion helpers on (N, 4) w, x, y, z tensors."""

from __future__ import annotations

import torch


def quat_rotate_inverse(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate world vectors v (N, 3) into the frame of q (N, 4): R(q)^T v."""
    w, xyz = q[:, :1], q[:, 1:]
    t = 2.0 * torch.cross(xyz, v, dim=-1)
    return v - w * t + torch.cross(xyz, t, dim=-1)


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate base-frame vectors v (N, 3) into the world: R(q) v."""
    w, xyz = q[:, :1], q[:, 1:]
    t = 2.0 * torch.cross(xyz, v, dim=-1)
    return v + w * t + torch.cross(xyz, t, dim=-1)


def heading(q: torch.Tensor) -> torch.Tensor:
    """(N,) yaw (rad) of the base x axis in the world."""
    fwd = quat_rotate(q, torch.tensor([[1.0, 0.0, 0.0]], dtype=q.dtype, device=q.device).expand(q.shape[0], 3))
    return torch.atan2(fwd[:, 1], fwd[:, 0])


def wrap_to_pi(a: torch.Tensor) -> torch.Tensor:
    """Wrap angles (rad) to [-pi, pi)."""
    return torch.remainder(a + torch.pi, 2 * torch.pi) - torch.pi
