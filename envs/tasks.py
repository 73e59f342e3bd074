"""The registered tasks: robot config x world x train config."""

from __future__ import annotations

from envs.locomotion.config import LocomotionEnvCfg
from envs.robots.a1 import a1_env_cfg
from legged_snn.registry import register_task, task_names
from legged_snn.rl.config import TrainCfg


def a1_flat_env() -> LocomotionEnvCfg:
    """A1 on flat ground (legged_gym's a1 settings, plane instead of terrain)."""
    cfg = a1_env_cfg()
    # no stacked frames: the spiking actor sees the same 48 numbers as the MLP (PopSAN's stateless setting);
    # env.history_frames > 0 adds a "history" group that the stack-mode actor encodes as extra populations
    cfg.env.history_frames = 0
    return cfg


def a1_flat_train() -> TrainCfg:
    cfg = TrainCfg()
    cfg.runner.experiment_name = "a1_flat"
    cfg.runner.max_iterations = 300
    # legged_gym's flat-ground network size (its ANYmal-C flat task): 5x cheaper updates than
    # [512, 256, 128], which is what lets a 2-core CPU learn to walk in half an hour.
    cfg.policy.actor_hidden_dims = [128, 64, 32]
    cfg.policy.critic_hidden_dims = [128, 64, 32]
    return cfg


if "a1_flat" not in task_names():
    register_task("a1_flat", a1_flat_env, a1_flat_train)
