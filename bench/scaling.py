"""Distributed scaling on this machine: training env steps/s with 1 and 2 gloo ranks (torchrun), side by side.

    python bench/scaling.py --task a1_flat --num_envs 1024 --json

Each rank simulates ``--num_envs`` envs (weak scaling) with ``cores / ranks`` threads; ratio = 2 ranks / 1 rank.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(ranks: int, args: argparse.Namespace) -> dict:
    threads = max(1, (os.cpu_count() or 2) // ranks)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={ranks}", "--standalone",
           os.path.join(ROOT, "bench", "train_throughput.py"), f"--task={args.task}", f"--num_envs={args.num_envs}",
           f"--actor={args.actor}", f"--iterations={args.iterations}", "--json"]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise SystemExit(f"scaling: {ranks} rank(s) failed: {res.stderr.strip().splitlines()[-1]}")
    return json.loads([ln for ln in res.stdout.splitlines() if ln.startswith("{")][-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="a1_flat")
    p.add_argument("--num_envs", type=int, default=1024, help="envs per rank")
    p.add_argument("--actor", default="mlp", choices=["mlp", "snn"])
    p.add_argument("--iterations", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    one, two = _run(1, args), _run(2, args)
    out = {"bench": "scaling", "task": args.task, "actor": args.actor, "num_envs_per_rank": args.num_envs,
           "cores": os.cpu_count(), "env_steps_per_s_1_rank": one["env_steps_per_s"],
           "env_steps_per_s_2_ranks": two["env_steps_per_s"],
           "ratio": round(two["env_steps_per_s"] / one["env_steps_per_s"], 3)}
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
