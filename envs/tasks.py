"""The registered tasks: robot config x world x train config."""

from __future__ import annotations

from collections.abc import Callable

from envs.locomotion.config import LocomotionEnvCfg, prior_follows_clock
from envs.robots import anymal_c
from envs.robots.a1 import a1_env_cfg
from envs.robots.cassie import cassie_env_cfg
from envs.robots.g1 import g1_env_cfg
from legged_snn.registry import register_task, task_names
from legged_snn.rl.config import TrainCfg
from legged_snn.sim.terrain import TYPES, TerrainCfg


def cpu_train(experiment: str, max_iterations: int) -> TrainCfg:
    """legged_gym's PPO settings with [128, 64, 32] networks (legged_gym's flat-ground size, its ANYmal-C flat task):
    5x cheaper updates than [512, 256, 128], which lets a 2-core CPU learn to walk on flat ground in half an hour,
    and runs the spiking actor at obs 235 at 2.4x the env steps/s (2.2k vs 0.93k, 1024 envs)."""
    cfg = TrainCfg()
    cfg.runner.experiment_name = experiment
    cfg.runner.max_iterations = max_iterations
    cfg.policy.actor_hidden_dims = [128, 64, 32]
    cfg.policy.critic_hidden_dims = [128, 64, 32]
    return cfg


def play_variant(cfg: LocomotionEnvCfg, num_envs: int = 16) -> LocomotionEnvCfg:
    """The env a person watches: few robots, a small terrain of every type, no noise, pushes or randomization."""
    cfg.env.num_envs = min(cfg.env.num_envs, num_envs)
    if cfg.terrain is not None:
        cfg.terrain.num_rows, cfg.terrain.num_cols, cfg.terrain.border_size = 5, len(TYPES), 5.0
        cfg.terrain.proportions = {t: 1.0 / len(TYPES) for t in TYPES}
        cfg.terrain.curriculum = False
    cfg.noise.add_noise = False
    dr = cfg.domain_rand
    dr.push_robots = dr.randomize_friction = dr.randomize_base_mass = False
    dr.randomize_motor_strength = dr.randomize_latency = False
    return cfg


def flat_env(robot_cfg: Callable[[], LocomotionEnvCfg]) -> Callable[[], LocomotionEnvCfg]:
    """A robot on flat ground: its config on a plane, no stacked frames (the spiking actor sees the same numbers
    as the MLP, PopSAN's stateless setting; history_frames > 0 adds a "history" group the stack mode encodes)."""
    def make() -> LocomotionEnvCfg:
        cfg = robot_cfg()
        cfg.env.history_frames = 0
        return cfg
    return make


def rough_env(robot_cfg: Callable[[], LocomotionEnvCfg]) -> Callable[[], LocomotionEnvCfg]:
    """A robot on the generated terrain: height scan (obs 48 + 187 for A1), curriculum, full randomization.
    Every env starts on the easiest row (legged_gym draws 0..5): on a 2-core CPU budget nobody walks early, so a
    random start only drains down to row 0 first (measured: mean level 2.5 -> 0.0 in 60 min, SNN and MLP alike)."""
    def make() -> LocomotionEnvCfg:
        cfg = robot_cfg()
        cfg.terrain = TerrainCfg(max_init_level=0)
        cfg.height_scan.enabled = True
        dr = cfg.domain_rand
        dr.randomize_base_mass = True
        dr.randomize_motor_strength = True
        dr.randomize_latency = True
        return cfg
    return make


def with_gait(env_cfg: Callable[[], LocomotionEnvCfg], mode: str = "trot") -> Callable[[], LocomotionEnvCfg]:
    """A task with the gait prior: the policy adds residuals to a trot generator (legged_snn/gait.py) or, for
    bipeds, ``alternate``'s joint-space swing profile (legged_snn/gait_joint.py)."""
    def make() -> LocomotionEnvCfg:
        cfg = env_cfg()
        cfg.gait_prior.mode = mode
        prior_follows_clock(cfg)  # the G1: the prior steps at its gait clock's period and stance share
        return cfg
    return make


def flat_train(name: str) -> Callable[[], TrainCfg]:
    """a1_flat's training settings: [128, 64, 32] networks, 1000 iterations (legged_gym's flat tasks stop at 300
    with 4096 envs; with 1024 the MLP reaches 0.7 at ~340 and the spiking actor, whose anneal ends at 320, at ~620:
    docs/legged_gym_differences.md)."""
    return lambda: cpu_train(name, 1000)


def rough_train(name: str) -> Callable[[], TrainCfg]:
    """a1_rough's training settings: [128, 64, 32] networks, 1500 iterations."""
    return lambda: cpu_train(name, 1500)


def anymal_c_flat_cfg() -> LocomotionEnvCfg:
    """ANYmal C with legged_gym's flat-config changes (rewards, friction)."""
    return anymal_c.flat_variant(anymal_c.anymal_c_env_cfg())


for _name, _env, _train in (
    ("a1_flat", flat_env(a1_env_cfg), flat_train("a1_flat")),
    ("a1_rough", rough_env(a1_env_cfg), rough_train("a1_rough")),
    ("a1_flat_gait", with_gait(flat_env(a1_env_cfg)), flat_train("a1_flat_gait")),
    ("a1_rough_gait", with_gait(rough_env(a1_env_cfg)), rough_train("a1_rough_gait")),
    ("anymal_c_flat", flat_env(anymal_c_flat_cfg), flat_train("anymal_c_flat")),
    ("anymal_c_rough", rough_env(anymal_c.anymal_c_env_cfg), rough_train("anymal_c_rough")),
    ("cassie_flat", flat_env(cassie_env_cfg), flat_train("cassie_flat")),
    ("cassie_rough", rough_env(cassie_env_cfg), rough_train("cassie_rough")),
    ("g1_flat", flat_env(g1_env_cfg), flat_train("g1_flat")),
    ("g1_rough", rough_env(g1_env_cfg), rough_train("g1_rough")),
    ("cassie_flat_gait", with_gait(flat_env(cassie_env_cfg), "alternate"), flat_train("cassie_flat_gait")),
    ("g1_flat_gait", with_gait(flat_env(g1_env_cfg), "alternate"), flat_train("g1_flat_gait")),
):
    if _name not in task_names():
        register_task(_name, _env, _train)
