"""Start-up checks of a task's configs: every field's type and range, and whether num_envs fits in memory."""

from __future__ import annotations

import os

from legged_snn.validate import AT_LEAST_ONE, DISCOUNT, NON_NEGATIVE, ORDERED, POSITIVE, UNIT, check

ARMATURE = (lambda v: all(x >= 0 for x in (v.values() if isinstance(v, dict) else [v])),
            "must be >= 0 (one value, or a {joint substring: value} table)")
ENV_RULES = {
    "env.num_envs": AT_LEAST_ONE, "env.episode_length_s": POSITIVE, "env.history_frames": NON_NEGATIVE,
    "robot.action_scale": POSITIVE, "robot.armature": ARMATURE, "robot.max_roll": NON_NEGATIVE,
    "robot.max_pitch": NON_NEGATIVE,
    "sim.dt": POSITIVE, "sim.decimation": AT_LEAST_ONE, "sim.solver_iterations": AT_LEAST_ONE,
    "sim.ls_iterations": AT_LEAST_ONE, "sim.nthread": NON_NEGATIVE,
    "sim.runaway_joint_vel": POSITIVE,
    "commands.resampling_time": POSITIVE, "commands.lin_vel_x": ORDERED, "commands.lin_vel_y": ORDERED,
    "commands.ang_vel_yaw": ORDERED, "commands.heading": ORDERED, "commands.small_command_threshold": NON_NEGATIVE,
    "init_state.joint_pos_scale": ORDERED, "init_state.root_vel": NON_NEGATIVE, "init_state.root_xy": NON_NEGATIVE,
    "domain_rand.friction_range": ORDERED, "domain_rand.added_mass_range": ORDERED,
    "domain_rand.push_interval_s": POSITIVE, "domain_rand.max_push_vel_xy": NON_NEGATIVE,
    "domain_rand.motor_strength_range": ORDERED, "domain_rand.latency_range": ORDERED,
    "rewards.tracking_sigma": POSITIVE, "rewards.soft_dof_pos_limit": UNIT, "rewards.soft_dof_vel_limit": UNIT,
    "rewards.soft_torque_limit": UNIT, "normalization.clip_observations": POSITIVE,
    "normalization.clip_actions": POSITIVE, "noise.noise_level": NON_NEGATIVE,
    "terrain.num_rows": AT_LEAST_ONE, "terrain.num_cols": AT_LEAST_ONE, "terrain.horizontal_scale": POSITIVE,
    "gait_prior.mode": (lambda v: v == "none" or v in _gaits(), "must be none, trot, pace, bound, walk or alternate"),
    "gait_prior.frequency": POSITIVE, "gait_prior.frequency_scale": NON_NEGATIVE,
    "gait_prior.swing_height": NON_NEGATIVE, "gait_prior.residual_scale": POSITIVE,
    "gait_prior.stance_fraction": (lambda v: 0 < v < 1, "must be in (0, 1)"),
    "terrain.vertical_scale": POSITIVE, "terrain.border_size": NON_NEGATIVE, "terrain.difficulty_range": ORDERED,
}
TRAIN_RULES = {
    "policy.init_noise_std": POSITIVE, "algorithm.clip_param": POSITIVE, "algorithm.entropy_coef": NON_NEGATIVE,
    "algorithm.num_learning_epochs": AT_LEAST_ONE, "algorithm.num_mini_batches": AT_LEAST_ONE,
    "algorithm.snn_learning_epochs": AT_LEAST_ONE, "algorithm.spike_learning_epochs": AT_LEAST_ONE,
    "algorithm.learning_rate": POSITIVE, "algorithm.desired_kl": POSITIVE, "algorithm.gamma": DISCOUNT,
    "algorithm.lam": UNIT, "algorithm.max_grad_norm": POSITIVE, "algorithm.value_loss_coef": NON_NEGATIVE,
    "runner.num_steps_per_env": AT_LEAST_ONE, "runner.max_iterations": AT_LEAST_ONE,
    "runner.save_interval": AT_LEAST_ONE,
    "distill.num_learning_epochs": AT_LEAST_ONE, "distill.gradient_length": AT_LEAST_ONE,
    "distill.learning_rate": POSITIVE, "distill.max_grad_norm": POSITIVE, "distill.student_init_std": POSITIVE,
    "distill.loss_type": (lambda v: v in ("mse", "huber"), "must be 'mse' or 'huber'"),
    "algorithm.lr_points": (lambda v: _lr_points_ok(v), "must be [[iteration, rate], ...] with ascending iterations "
                            ">= 0 and rates > 0"),
}


def _gaits() -> list[str]:
    from legged_snn.gait import GAITS
    from legged_snn.gait_joint import JOINT_GAITS

    return list(GAITS) + list(JOINT_GAITS)


def _lr_points_ok(points) -> bool:
    from legged_snn.rl.config import check_lr_points

    try:
        check_lr_points(points)
    except ValueError:
        return False
    return True


def check_configs(env_cfg, train_cfg) -> None:
    """ConfigError naming the first bad field (path, what it accepts, what it got)."""
    check(env_cfg, "env_cfg", ENV_RULES)
    check(train_cfg, "train_cfg", TRAIN_RULES)


def bytes_per_env(env_cfg, train_cfg, obs_dim: int, critic_dim: int, num_actions: int) -> int:
    """Rough memory per env (bytes): simulation rows, env buffers, rollout storage, and the PPO update's
    activations (the spiking actor keeps T steps of (c, v, o, spikes) per neuron)."""
    r, p = train_cfg.runner, train_cfg.policy
    sim = 8 * 200 + 4 * (obs_dim + critic_dim) * 4  # Batch rows (qpos, qvel, ctrl, warmstart, outputs) + env
    storage = 4 * r.num_steps_per_env * (obs_dim + critic_dim + 5 * num_actions + 8)
    samples = r.num_steps_per_env / max(train_cfg.algorithm.num_mini_batches, 1)
    width = sum(p.actor_hidden_dims) + sum(p.critic_hidden_dims)
    if p.actor == "snn":
        t, pop = p.snn.get("timesteps", 5), p.snn.get("pop_in", 10)
        width += t * (4 * sum(p.actor_hidden_dims) + obs_dim * pop + num_actions * p.snn.get("pop_out", 10))
    update = int(4 * 2 * samples * width)  # forward activations + their gradients
    return sim + storage + update


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(num_envs: int, per_env: int, fixed: int = 1 << 29) -> str | None:
    """An error message when num_envs cannot fit in 90% of the available memory, else None."""
    avail = available_bytes() if os.environ.get("LEGGED_SNN_MEMORY") is None else int(os.environ["LEGGED_SNN_MEMORY"])
    if avail is None:
        return None
    need = fixed + num_envs * per_env
    if need <= 0.9 * avail:
        return None
    fit = max(0, int((0.9 * avail - fixed) // per_env))
    return (f"num_envs={num_envs} needs about {need / 1e9:.1f} GB but {avail / 1e9:.1f} GB is available; "
            f"at most about {fit} envs fit (--num_envs {fit})")
