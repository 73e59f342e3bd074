"""Domain randomization: friction, added mass, motor strength, latency per env at start-up; pushes."""

from __future__ import annotations

import torch

from envs.locomotion.config import DomainRandCfg
from legged_snn.sim.backend import Backend


def randomize_startup(backend: Backend, cfg: DomainRandCfg, gen: torch.Generator) -> torch.Tensor | None:
    """Draw each env's friction, added root mass and motor strength once, as legged_gym does at creation;
    returns each env's action latency (N,) in physics steps, or None when latency is off."""
    n = backend.num_envs
    ids = torch.arange(n)
    if cfg.randomize_friction and cfg.friction_range[0] < 0:  # checked before anything is drawn or set
        raise ValueError(f"domain_rand.friction_range {tuple(cfg.friction_range)} draws negative friction; give a "
                         "lower bound >= 0")
    if cfg.randomize_friction:  # legged_gym draws the robot's friction; Isaac Gym averages it with the floor's,
        lo, hi = cfg.friction_range  # MuJoCo takes a pair's max: every geom gets the average (robot + floor) / 2
        robot = lo + (hi - lo) * torch.rand(n, generator=gen)
        backend.set_friction(ids, (robot + backend.get_friction().to(robot.device)) / 2)  # called once: floor nominal
    if cfg.randomize_base_mass:
        lo, hi = cfg.added_mass_range
        mass = float(backend.model.body_mass[backend.info.root_body_id])
        if mass + lo <= 0:
            raise ValueError(f"domain_rand.added_mass_range {tuple(cfg.added_mass_range)} kg can make the root "
                             f"body's mass ({mass:.3g} kg) <= 0; raise the lower bound above {-mass:.3g} kg")
        backend.set_added_mass(ids, lo + (hi - lo) * torch.rand(n, generator=gen))
    if cfg.randomize_motor_strength:
        lo, hi = cfg.motor_strength_range
        backend.set_motor_strength(ids, lo + (hi - lo) * torch.rand(n, generator=gen))
    if not cfg.randomize_latency:
        return None
    lo, hi = cfg.latency_range
    if not 0 <= lo <= hi < backend.decimation:
        raise ValueError(f"domain_rand.latency_range {cfg.latency_range} must satisfy 0 <= lo <= hi < decimation "
                         f"({backend.decimation}) physics steps")
    return torch.randint(lo, hi + 1, (n,), generator=gen)


def push(backend: Backend, cfg: DomainRandCfg, env_ids: torch.Tensor, gen: torch.Generator) -> None:
    """Set the root xy velocity of ``env_ids`` to U(-max, max) m/s."""
    if len(env_ids):
        v = cfg.max_push_vel_xy
        backend.push(env_ids, (2 * torch.rand(len(env_ids), 2, generator=gen) - 1) * v)
