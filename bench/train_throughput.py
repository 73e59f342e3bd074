"""End-to-end training throughput (env steps/s including the PPO update) for a few iterations.

    python bench/train_throughput.py --task a1_rough --num_envs 4096 --actor snn --json
    torchrun --nproc_per_node=2 bench/train_throughput.py ...     # every rank's envs counted

The first iteration (compilation, warm-up) is left out; the median of the rest is reported.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from envs.launch import script_session  # noqa: E402
from legged_snn.cli import build_parser  # noqa: E402


def main() -> None:
    p = build_parser("bench/train_throughput.py")
    p.add_argument("--iterations", type=int, default=4, help="timed iterations (after one warm-up)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    s = script_session(args, "bench/train_throughput.py", log=False)
    runner, env = s.runner, s.env
    world = int(os.getenv("WORLD_SIZE", "1"))
    steps = env.num_envs * s.train_cfg.runner.num_steps_per_env * world
    times = []
    for _ in range(args.iterations + 1):
        t = time.perf_counter()
        runner.learn(1)
        times.append(time.perf_counter() - t)
    if int(os.getenv("RANK", "0")) != 0:
        return
    per_it = statistics.median(times[1:])
    out = {"bench": "train_throughput", "task": args.task, "actor": s.train_cfg.policy.actor,
           "num_envs_per_rank": env.num_envs, "ranks": world, "sim_device": args.sim_device,
           "rl_device": args.rl_device, "mixed_precision": bool(s.train_cfg.algorithm.use_mixed_precision),
           "env_steps_per_s": round(steps / per_it), "seconds_per_iteration": round(per_it, 3),
           "warmup_s": round(times[0], 2)}
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
