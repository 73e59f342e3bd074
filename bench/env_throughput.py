"""Env steps/s against the raw Batch physics rate on the same model, measured side by side.

    python bench/env_throughput.py --task a1_flat --num_envs 4096 --json

Both loops drive the same backend (same model, same simulations, same states) with the same kind of
actions (N(0, 0.5) per joint), in alternating short blocks so that machine noise and state drift hit
both alike. raw = write the position targets into Batch's ctrl + Batch.step(decimation), nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import envs.tasks  # noqa: E402,F401
from envs.locomotion.env import LocomotionEnv  # noqa: E402
from legged_snn.registry import load  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="a1_flat")
    p.add_argument("--num_envs", type=int, default=4096)
    p.add_argument("--seconds", type=float, default=20.0, help="total measuring time (both loops)")
    p.add_argument("--block", type=int, default=10, help="policy steps per alternating block")
    p.add_argument("--horizontal_scale", type=float, default=None, help="terrain cell size (m), rough tasks")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    env_cfg, _ = load(args.task)
    env_cfg.env.num_envs = args.num_envs
    if args.horizontal_scale is not None and env_cfg.terrain is not None:
        env_cfg.terrain.horizontal_scale = args.horizontal_scale
    env = LocomotionEnv(env_cfg)
    n, a = env.num_envs, env.num_actions
    gen = torch.Generator().manual_seed(0)
    backend = env.backend
    ctrl = backend._ctrl  # the live Batch ctrl rows
    q0, scale = env.default_joint_pos, env_cfg.robot.action_scale
    for _ in range(20):  # warm up, leave the spawn transient
        env.step(0.5 * torch.randn(n, a, generator=gen))
    t_env = t_raw = 0.0
    steps_env = steps_raw = 0
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        for _ in range(args.block):
            env.step(0.5 * torch.randn(n, a, generator=gen))
        t_env += time.perf_counter() - t
        steps_env += args.block * n
        t = time.perf_counter()
        for _ in range(args.block):
            actions = 0.5 * torch.randn(n, a, generator=gen)
            ctrl.copy_(q0 + scale * actions)
            backend.batch.step(nstep=backend.decimation)
        t_raw += time.perf_counter() - t
        steps_raw += args.block * n
    env_rate, raw_rate = steps_env / t_env, steps_raw / t_raw
    out = {
        "bench": "env_throughput", "task": args.task, "num_envs": n, "threads": backend.batch.nthread,
        "env_steps_per_s": round(env_rate), "raw_policy_steps_per_s": round(raw_rate),
        "raw_physics_steps_per_s": round(raw_rate * backend.decimation), "ratio": round(env_rate / raw_rate, 3),
    }
    if env_cfg.terrain is not None:
        out["hfield_cells"] = int(env.terrain.heights.numel())
        out["horizontal_scale"] = env_cfg.terrain.horizontal_scale
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
