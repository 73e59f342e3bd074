"""Observation terms, their scales and their noise, built in ONE place.

``ObsLayout`` lists the terms of the policy observation in order; the observation vector and the noise
vector are both built from it, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from envs.locomotion.config import LocomotionEnvCfg
from legged_snn.sim.math import heading


@dataclass
class ObsTerm:
    name: str
    size: int
    scale: float | torch.Tensor  # multiplies the raw value
    noise: float  # uniform noise half-width in raw units (before scale); 0 = none
    read: Callable[[object], torch.Tensor]  # env -> (N, size) raw value


class ObsLayout:
    """An ordered list of observation terms -> (N, D) observation and (D,) noise vector."""

    def __init__(self, terms: list[ObsTerm]) -> None:
        self.terms = terms
        self.dim = sum(t.size for t in terms)
        self.scale = torch.cat([torch.as_tensor(t.scale, dtype=torch.float32).expand(t.size) for t in terms])
        self.noise_vec = torch.cat([torch.full((t.size,), float(t.noise)) for t in terms]) * self.scale

    def names(self) -> list[str]:
        """One name per observation dimension, e.g. ``dof_pos[3]``."""
        return [f"{t.name}[{i}]" for t in self.terms for i in range(t.size)]

    def slices(self) -> dict[str, slice]:
        """Where each term sits in the observation vector."""
        out, start = {}, 0
        for t in self.terms:
            out[t.name] = slice(start, start + t.size)
            start += t.size
        return out

    def compute(self, env: object) -> torch.Tensor:
        """(N, D) scaled observation, without noise."""
        return torch.cat([t.read(env) for t in self.terms], dim=-1) * self.scale


def _height_scan(env: object) -> torch.Tensor:
    """(N, P) clip(base_z - offset - ground, -clip, clip) in metres (legged_gym's measured heights)."""
    hc = env.cfg.height_scan
    ground = env.terrain.scan(env.sim.base_pos, heading(env.sim.base_quat))
    return (env.sim.base_pos[:, 2:3] - hc.offset - ground).clamp(-hc.clip, hc.clip)


def _gait_clock(env: object) -> torch.Tensor:
    """(N, 2) sin and cos of 2 pi * gait phase (unitree_rl_gym's phase input)."""
    angle = 2 * torch.pi * env.gait_phase()
    return torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)


def policy_layout(cfg: LocomotionEnvCfg, num_joints: int, num_actions: int) -> ObsLayout:
    """legged_gym's 48-dim proprioceptive observation (its actions term grows to ``num_actions`` with a gait prior),
    + the gait clock (2) when cfg.gait.enabled, + sin/cos of each leg's phase (2 per foot) with a gait prior, + the
    187-point height scan when enabled (235)."""
    s, n = cfg.normalization.obs_scales, cfg.noise
    lvl = n.noise_level if n.add_noise else 0.0
    scan = []
    if cfg.height_scan.enabled:
        points = cfg.height_scan.x[2] * cfg.height_scan.y[2]
        scan = [ObsTerm("height_scan", points, s.height_measurements, n.height_measurements * lvl, _height_scan)]
    return ObsLayout([
        ObsTerm("base_lin_vel", 3, s.lin_vel, n.lin_vel * lvl, lambda e: e.sim.base_lin_vel),
        ObsTerm("base_ang_vel", 3, s.ang_vel, n.ang_vel * lvl, lambda e: e.sim.base_ang_vel),
        ObsTerm("projected_gravity", 3, 1.0, n.gravity * lvl, lambda e: e.sim.projected_gravity),
        ObsTerm("commands", 3, torch.tensor([s.lin_vel, s.lin_vel, s.ang_vel]), 0.0, lambda e: e.commands),
        ObsTerm("dof_pos", num_joints, s.dof_pos, n.dof_pos * lvl, lambda e: e.sim.joint_pos - e.default_joint_pos),
        ObsTerm("dof_vel", num_joints, s.dof_vel, n.dof_vel * lvl, lambda e: e.sim.joint_vel),
        ObsTerm("actions", num_actions, 1.0, 0.0, lambda e: e.actions),
        *([ObsTerm("gait_phase", 2, 1.0, 0.0, _gait_clock)] if cfg.gait.enabled else []),
        *([ObsTerm("leg_phase", 2 * len(cfg.robot.foot_bodies), 1.0, 0.0, lambda e: e.gait_prior.clock())]
          if cfg.gait_prior.mode != "none" else []),
        *scan,
    ])


def privileged_layout(cfg: LocomotionEnvCfg) -> ObsLayout:
    """Extra critic terms the robot cannot sense: friction, added mass, foot contact."""
    return ObsLayout([
        ObsTerm("friction", 1, 1.0, 0.0, lambda e: e.friction[:, None]),
        ObsTerm("added_mass", 1, 1.0, 0.0, lambda e: e.added_mass[:, None]),
        ObsTerm("foot_contact", len(cfg.robot.foot_bodies), 1.0, 0.0, lambda e: e.foot_contact.float()),
    ])
