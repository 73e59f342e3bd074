"""Domain randomization: friction and added mass per env at start-up, pushes during episodes."""

from __future__ import annotations

import torch

from envs.locomotion.config import DomainRandCfg
from legged_snn.sim.backend import Backend


def randomize_startup(backend: Backend, cfg: DomainRandCfg, gen: torch.Generator) -> None:
    """Draw each env's friction and added root mass once, as legged_gym does at creation."""
    n = backend.num_envs
    ids = torch.arange(n)
    if cfg.randomize_friction:
        lo, hi = cfg.friction_range
        backend.set_friction(ids, lo + (hi - lo) * torch.rand(n, generator=gen))
    if cfg.randomize_base_mass:
        lo, hi = cfg.added_mass_range
        backend.set_added_mass(ids, lo + (hi - lo) * torch.rand(n, generator=gen))


def push(backend: Backend, cfg: DomainRandCfg, env_ids: torch.Tensor, gen: torch.Generator) -> None:
    """Set the root xy velocity of ``env_ids`` to U(-max, max) m/s."""
    if len(env_ids):
        v = cfg.max_push_vel_xy
        backend.push(env_ids, (2 * torch.rand(len(env_ids), 2, generator=gen) - 1) * v)
