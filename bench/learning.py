"""Train a task for a fixed wall-clock budget and report how well it walks.

    python bench/learning.py --task a1_flat --minutes 30 --json

Tracking figures are fractions of their maximum: the episode sum of the term per second of episode,
divided by its reward scale (legged_gym's convention; 1.0 = perfect tracking for a whole episode),
averaged over the episodes that ended in the last 5 iterations, or over one push period where pushes are on.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from envs.launch import script_session  # noqa: E402
from legged_snn.cli import add_training_flags, build_parser  # noqa: E402
from legged_snn.rl.config import resolved_epochs, resolved_schedule  # noqa: E402
from legged_snn.rl.logger import BudgetReached, stop_on_signals  # noqa: E402
from legged_snn.snn.anneal import smoothness  # noqa: E402


def averaging_window(session) -> int:
    """Iterations the reported figures average over: 5, or one push period where pushes are on (legged_gym pushes
    every env at the same step, so episode lengths oscillate with that period and a shorter window reads a phase)."""
    dr, steps = session.env_cfg.domain_rand, session.train_cfg.runner.num_steps_per_env
    if not dr.push_robots:
        return 5
    return max(5, math.ceil(dr.push_interval_s / session.env.dt / steps))


def main() -> None:
    p = add_training_flags(build_parser("bench/learning.py"))
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget")
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    args = p.parse_args()
    if args.run_name is None:
        args.run_name = f"bench_{args.actor or 'default'}"
    if args.max_iterations is None:
        args.max_iterations = 100000
    session = script_session(args, "bench/learning.py")
    runner, env = session.runner, session.env
    runner.logger.deadline = time.time() + 60.0 * args.minutes
    stop_on_signals(runner)  # SIGINT/SIGTERM: stop after this iteration and report what was reached
    t0 = time.time()
    try:
        runner.learn(args.max_iterations, init_at_random_ep_len=not session.resume_path)  # resumed: env kept
    except BudgetReached:
        runner.save(os.path.join(session.log_dir, f"model_{runner.current_learning_iteration}.pt"))
    wall = time.time() - t0
    hist = runner.logger.history[-averaging_window(session):]
    scales = session.env_cfg.rewards.scales

    def frac(term: str) -> float:
        vals = [h[f"Episode_Reward/{term}"] for h in hist if f"Episode_Reward/{term}" in h]
        return sum(vals) / len(vals) / scales[term] if vals and scales.get(term) else float("nan")

    last = runner.logger.last_stats
    out = {
        "bench": "learning", "task": args.task, "actor": session.train_cfg.policy.actor,
        "num_envs": env.num_envs, "minutes": round(wall / 60, 2),
        "env_steps": int(last.get("total_steps", 0)), "iterations": len(runner.logger.history),
        "mean_reward": round(sum(h["mean_reward"] for h in hist) / len(hist), 3),
        "tracking_lin_vel": round(frac("tracking_lin_vel"), 3), "tracking_ang_vel": round(frac("tracking_ang_vel"), 3),
        "mean_episode_length_s": round(sum(h["mean_episode_length"] for h in hist) / len(hist) * env.dt, 2),
        "env_steps_per_s": round(last.get("total_steps", 0) / wall), "checkpoint": session.log_dir,
        "averaged_iterations": len(hist), "ppo_epochs": runner.alg.num_learning_epochs,
        "learning_rate": session.train_cfg.algorithm.learning_rate, "lr_schedule": resolved_schedule(session.train_cfg),
    }
    if runner.alg.lr_points is not None:  # "piecewise": the rate starts at the first point, not algorithm.learning_rate
        out["learning_rate"] = runner.alg.lr_points[0][1]
        out["lr_points"] = [list(p) for p in runner.alg.lr_points]
    spike_epochs = runner.cfg.get("spike_learning_epochs")
    if spike_epochs is not None and not runner.distilling:  # the epochs count changes once the forward is spikes
        out["ppo_epochs"] = resolved_epochs(session.train_cfg)
        out["ppo_epochs_on_spikes"] = spike_epochs
    anneal = getattr(runner.alg.get_policy(), "anneal", None)
    if anneal is not None:  # smooth to iteration start, spikes from end (legged_snn/snn/anneal.py)
        out["anneal"] = list(anneal)
        # lambda of the last update: > 0 means the numbers above are of a smooth forward, not the deployed spikes
        out["smooth_at_end"] = round(smoothness(runner.alg.iteration - 1, anneal), 3)
    if runner.distilling:  # rsl-rl's Distillation from --teacher instead of PPO
        out.update({"algorithm": "distillation", "teacher": args.teacher, "bc_loss": round(last.get("bc_loss", 0), 5),
                    "learning_rate": session.train_cfg.distill.learning_rate, "lr_schedule": "fixed"})
        out["distill_epochs"] = out.pop("ppo_epochs")
    levels = [h["Curriculum/terrain_level"] for h in runner.logger.history if "Curriculum/terrain_level" in h]
    if levels:  # rough terrain: where the curriculum started and where the last 5 iterations averaged
        out["terrain_level_start"] = round(levels[0], 3)
        out["terrain_level_end"] = round(sum(levels[-5:]) / len(levels[-5:]), 3)
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
