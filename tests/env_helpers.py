"""Small env configs for tests that build real envs."""

from __future__ import annotations

import envs.tasks  # noqa: F401  (registers the tasks)
from envs.locomotion.config import LocomotionEnvCfg
from legged_snn.registry import load


def small(task: str, num_envs: int = 2) -> LocomotionEnvCfg:
    """The task's env config with few envs, one thread and (rough tasks) a 1 x 2-tile terrain."""
    cfg, _ = load(task)
    cfg.env.num_envs = num_envs
    cfg.sim.nthread = 1
    if cfg.terrain is not None:
        cfg.terrain.num_rows, cfg.terrain.num_cols, cfg.terrain.border_size = 1, 2, 2.0
        cfg.terrain.curriculum = False
    return cfg


def open_loop_gait_env(make, mode: str, num_envs: int = 4):
    """A real env of robot config ``make()`` with gait prior ``mode`` and no pushes, checked for the prior's action
    and observation sizes (J joints + L frequency actions; 2 L leg-phase values)."""
    from envs.locomotion.env import LocomotionEnv

    cfg = make()
    cfg.env.num_envs = num_envs
    cfg.gait_prior.mode = mode
    cfg.domain_rand.push_robots = False
    env = LocomotionEnv(cfg)
    legs = len(cfg.robot.foot_bodies)
    phase = env.obs_layout.slices()["leg_phase"]
    assert env.num_actions == len(cfg.robot.joint_names) + legs and phase.stop - phase.start == 2 * legs
    return env
