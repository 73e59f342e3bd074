"""Velocity commands: uniform ranges, heading mode, periodic resampling, optional curriculum."""

from __future__ import annotations

import torch

from envs.locomotion.config import CommandsCfg
from legged_snn.sim.math import heading, wrap_to_pi


def _uniform(lo: float, hi: float, n: int, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


class Commands:
    """(N, 3) commands vx, vy (m/s), yaw rate (rad/s), plus a (N,) heading target (rad)."""

    def __init__(self, cfg: CommandsCfg, num_envs: int, gen: torch.Generator) -> None:
        self.cfg = cfg
        self.gen = gen
        self.lin_vel_x = list(cfg.lin_vel_x)
        self.values = torch.zeros(num_envs, 3)
        self.heading = torch.zeros(num_envs)

    def resample(self, env_ids: torch.Tensor) -> None:
        """Draw new commands for envs ``env_ids``; tiny planar commands become zero."""
        n, c = len(env_ids), self.cfg
        if n == 0:
            return
        self.values[env_ids, 0] = _uniform(*self.lin_vel_x, n, self.gen)
        self.values[env_ids, 1] = _uniform(*c.lin_vel_y, n, self.gen)
        if c.heading_command:
            self.heading[env_ids] = _uniform(*c.heading, n, self.gen)
        else:
            self.values[env_ids, 2] = _uniform(*c.ang_vel_yaw, n, self.gen)
        small = torch.norm(self.values[env_ids, :2], dim=1) < c.small_command_threshold
        self.values[env_ids[small], :2] = 0.0

    def update_heading(self, base_quat: torch.Tensor) -> None:
        """Heading mode: yaw rate = clip(0.5 * heading error, -1, 1)."""
        if self.cfg.heading_command:
            err = wrap_to_pi(self.heading - heading(base_quat))
            self.values[:, 2] = torch.clamp(0.5 * err, -1.0, 1.0)

    def update_curriculum(self, tracking_fraction: float) -> None:
        """Widen the vx range by 0.5 m/s when lin-vel tracking exceeds 80% of its maximum."""
        if self.cfg.curriculum and tracking_fraction > 0.8:
            m = self.cfg.max_curriculum
            self.lin_vel_x = [max(self.lin_vel_x[0] - 0.5, -m), min(self.lin_vel_x[1] + 0.5, m)]
