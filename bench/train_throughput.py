"""End-to-end training throughput (env steps/s including the PPO update) for a few iterations, and where it goes.

    python bench/train_throughput.py --task a1_flat --num_envs 4096 --actor snn --json
    python bench/train_throughput.py --task a1_flat --num_envs 4096 --compare --json   # spiking and MLP, one run
    torchrun --nproc_per_node=2 bench/train_throughput.py ...     # every rank's envs counted

The first iteration (compilation, warm-up) is left out; the median of the rest is reported. Per iteration (medians,
seconds): ``seconds_physics`` (the env's step: simulation, rewards, resets, observations), ``seconds_policy_rollout``
(the actor's and critic's forward for the rollout, no autograd), ``seconds_update`` (PPO's update) and
``seconds_other`` (storage, returns, logging). ``--compare`` builds both actors with the same settings and
alternates their iterations, so the ratio ``snn_over_mlp_env_steps_per_s`` is measured side by side.
The spiking actor is timed on pure spikes with its spike-phase epochs (what most of a run trains with, and what
is deployed), not the default anneal's smooth first iterations; with ``--anneal START END`` the timed iterations
run that schedule's first iteration (smooth when START > 0; ``snn_forward`` says which).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from envs.launch import script_session  # noqa: E402
from legged_snn.cli import add_training_flags, build_parser  # noqa: E402

PARTS = ("physics", "policy_rollout", "update")


def _timed(fn: Callable, clock: dict[str, float], key: str) -> Callable:
    """fn, adding its wall time to clock[key] on every call."""
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            clock[key] += time.perf_counter() - t
    return wrapper


class Timed:
    """A training session whose env step, rollout forward and PPO update are timed per iteration."""

    def __init__(self, args: argparse.Namespace) -> None:
        def spikes(env_cfg, train_cfg) -> None:  # the spiking phase unless --anneal asks for the schedule
            if not getattr(args, "anneal", None):
                train_cfg.policy.snn["anneal"] = None

        self.s = script_session(args, "bench/train_throughput.py", log=False, edit=spikes)
        self.clock = dict.fromkeys(PARTS, 0.0)
        runner, env = self.s.runner, self.s.env
        env.step = _timed(env.step, self.clock, "physics")
        runner.alg.act = _timed(runner.alg.act, self.clock, "policy_rollout")
        runner.alg.update = _timed(runner.alg.update, self.clock, "update")
        self.rows: list[dict[str, float]] = []

    def iteration(self) -> None:
        for k in self.clock:
            self.clock[k] = 0.0
        t = time.perf_counter()
        self.s.runner.learn(1)
        total = time.perf_counter() - t
        row = {"total": total, **self.clock}
        row["other"] = total - sum(self.clock.values())
        self.rows.append(row)

    def report(self, args: argparse.Namespace) -> dict:
        world = int(os.getenv("WORLD_SIZE", "1"))
        env, cfg = self.s.env, self.s.train_cfg
        steps = env.num_envs * cfg.runner.num_steps_per_env * world
        med = {k: statistics.median(r[k] for r in self.rows[1:]) for k in self.rows[0]}
        out = {"bench": "train_throughput", "task": args.task, "actor": cfg.policy.actor,
               "num_envs_per_rank": env.num_envs, "ranks": world, "sim_device": args.sim_device,
               "rl_device": args.rl_device, "mixed_precision": bool(cfg.algorithm.use_mixed_precision),
               "env_steps_per_s": round(steps / med["total"]), "seconds_per_iteration": round(med["total"], 3),
               "warmup_s": round(self.rows[0]["total"], 2)}
        out["ppo_epochs"] = self.s.runner.alg.num_learning_epochs
        if cfg.policy.actor == "snn":
            out["gradient"] = cfg.policy.snn.get("gradient", "bptt")
            out["snn_forward"] = "spikes" if self.s.runner.alg.spiking_network().smooth == 0 else "smooth"
        out.update({f"seconds_{k}": round(med[k], 3) for k in (*PARTS, "other")})
        return out


def main() -> None:
    p = add_training_flags(build_parser("bench/train_throughput.py"))
    p.add_argument("--iterations", type=int, default=4, help="timed iterations (after one warm-up)")
    p.add_argument("--compare", action="store_true", help="spiking and MLP actors side by side (ignores --actor)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.compare:
        runs = [Timed(argparse.Namespace(**{**vars(args), "actor": actor})) for actor in ("snn", "mlp")]
    else:
        runs = [Timed(args)]
    for _ in range(args.iterations + 1):
        for run in runs:  # alternating: the machine's noise falls on both
            run.iteration()
    if int(os.getenv("RANK", "0")) != 0:
        return
    reports = [run.report(args) for run in runs]
    if args.compare:
        snn, mlp = reports
        out = {"bench": "train_throughput_compare", "task": args.task, "num_envs_per_rank": snn["num_envs_per_rank"],
               "snn_over_mlp_env_steps_per_s": round(snn["env_steps_per_s"] / mlp["env_steps_per_s"], 3),
               "snn": snn, "mlp": mlp}
    else:
        out = reports[0]
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
