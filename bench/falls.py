"""Where a trained policy falls: falls per terrain type in its task's training env, one condition at a time.

    python bench/falls.py --task a1_rough --checkpoint logs/a1_rough/<run>/model_<it>.pt --level 2 --json
    python bench/falls.py ... --pushes off --randomization off --actions mean   # one change each, same seed
    python bench/falls.py ... --cfg terrain.rough_noise_grid=0.1            # or any config field

The env is the task's own training env (terrain, pushes, randomization, commands, action noise unless ``--actions
mean``), started fresh with every env on row ``--level`` and the columns spread evenly over the terrain types (the
curriculum then moves envs as in training). The policy steps for ``--seconds``; a fall is an episode that ends
before its time-out. ``falls_per_env_episode`` is falls per env per episode length of stepping (0.4 = four falls in
ten env-episodes), ``by_type`` the same for the envs that started on each terrain type. ``tracking_lin_vel`` is the
lin-vel tracking reward's mean per step as a fraction of its maximum, over the envs that did not end that step: the
training number's kind, read on a fixed level instead of at the curriculum's edge. A checkpoint runs with its
own run's actor settings and gait prior (params/).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from envs.launch import apply_gait, apply_policy, script_session, trained_gait, trained_policy  # noqa: E402
from legged_snn.cli import add_cfg_flag, build_parser  # noqa: E402
from legged_snn.overrides import apply_override  # noqa: E402
from legged_snn.rl.runner import CheckpointError  # noqa: E402

RANDOMIZATION = ("randomize_base_mass", "randomize_motor_strength", "randomize_latency", "randomize_friction")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/falls.py", description=__doc__.splitlines()[0])
    p.add_argument("--task", default="a1_rough")
    p.add_argument("--checkpoint", required=True, help="a model_<it>.pt of a run of this task")
    p.add_argument("--num_envs", type=int, default=400)
    p.add_argument("--level", type=int, default=0, help="terrain row every env starts on")
    p.add_argument("--seconds", type=float, default=20.0, help="simulated seconds to step (s)")
    p.add_argument("--pushes", choices=["on", "off"], default="on")
    p.add_argument("--randomization", choices=["on", "off"], default="on",
                   help="off: no base mass, motor strength, latency or friction randomization")
    p.add_argument("--actions", choices=["sample", "mean"], default="sample",
                   help="sample: the policy's Gaussian, as in training; mean: its mean, as deployed")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    add_cfg_flag(p)  # any other one change, e.g. --cfg terrain.rough_noise_grid=0.1
    opts = p.parse_args(argv)
    if opts.num_envs < 1 or opts.seconds <= 0 or opts.level < 0:
        p.error("--num_envs must be >= 1, --seconds > 0 and --level >= 0")
    return opts


def main(argv: list[str] | None = None) -> dict:
    opts = _args(argv)
    run_dir = os.path.dirname(os.path.abspath(opts.checkpoint))
    if not os.path.isfile(opts.checkpoint):
        sys.exit(f"bench/falls.py: error: checkpoint not found: {opts.checkpoint}")
    trained = trained_policy(run_dir)
    if trained is None:
        sys.exit(f"bench/falls.py: error: {run_dir} has no params/train.yaml; give a checkpoint written by train.py")
    args = add_cfg_flag(build_parser("bench/falls.py")).parse_args(
        ["--task", opts.task, "--num_envs", str(opts.num_envs), "--seed", str(opts.seed), "--headless",
         "--actor", str(trained.get("actor"))] + [x for kv in opts.cfg for x in ("--cfg", kv)])

    def as_trained(env_cfg, train_cfg) -> None:  # the run's actor and gait prior, this bench's one change
        apply_policy(train_cfg, trained)
        apply_gait(env_cfg, trained_gait(run_dir), None)
        if opts.pushes == "off":
            env_cfg.domain_rand.push_robots = False
        if opts.randomization == "off":
            for key in RANDOMIZATION:
                setattr(env_cfg.domain_rand, key, False)
        for item in opts.cfg:  # --cfg wins over this bench's flags (the task's loader checked each item)
            apply_override({"train": train_cfg, "env": env_cfg}, item)
        if env_cfg.terrain is not None and opts.level >= env_cfg.terrain.num_rows:
            sys.exit(f"bench/falls.py: error: --level {opts.level} is past the last row "
                     f"({env_cfg.terrain.num_rows - 1}); pick 0..{env_cfg.terrain.num_rows - 1}")

    session = script_session(args, "bench/falls.py", log=False, edit=as_trained)
    env, policy = session.env, session.runner.alg.get_policy()
    try:  # the runner's loader: task and shape checks, one-line errors; the actor only, fresh envs
        session.runner.load(opts.checkpoint, {"actor": True}, restore_env=False)
    except CheckpointError as exc:
        sys.exit(f"bench/falls.py: error: {exc}")
    policy.eval()
    grid = env.terrain.terrain
    start = env.terrain.types.clone()  # (N,) column of each env, spread evenly over the types
    if grid is not None:
        env.place_on_tile(torch.arange(env.num_envs), opts.level, start)
    names = list(grid.types) if grid is not None else ["flat"]
    steps = max(1, round(opts.seconds / env.dt))
    falls, time_outs = torch.zeros(env.num_envs), 0
    tracked, tracked_steps = 0.0, 0  # the tracking reward's per-step value (max 1), over envs that did not end
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(steps):
            command = env.commands[:, :2].clone()  # (N, 2) m/s, the command this step is rewarded against
            obs, _, dones, extras = env.step(policy(obs, stochastic_output=opts.actions == "sample"))
            ended = dones.bool()
            fell = ended & ~extras["time_outs"].bool()
            falls += fell.float()
            err = (command - env.sim.base_lin_vel[:, :2]).square().sum(dim=1)[~ended]
            tracked += float(torch.exp(-err / env.cfg.rewards.tracking_sigma).sum())
            tracked_steps += int(err.numel())
            time_outs += int((ended & ~fell).sum())
            if hasattr(policy, "reset"):
                policy.reset(dones)
    per_episode = env.max_episode_length / steps  # scales falls over the stepped time to one episode length
    by_type = {}
    for name in dict.fromkeys(names):
        mask = torch.isin(start, torch.tensor([c for c, n in enumerate(names) if n == name]))
        if mask.any():
            by_type[name] = round(float(falls[mask].mean()) * per_episode, 3)
    out = {"bench": "falls", "task": opts.task, "checkpoint": opts.checkpoint, "num_envs": opts.num_envs,
           "level": opts.level, "seconds": round(steps * env.dt, 2),
           "pushes": "on" if env.cfg.domain_rand.push_robots else "off",  # as the env ran, not as asked
           "randomized": [k for k in RANDOMIZATION if getattr(env.cfg.domain_rand, k)], "actions": opts.actions,
           "falls": int(falls.sum()),
           "time_outs": time_outs, "falls_per_env_episode": round(float(falls.mean()) * per_episode, 3),
           "by_type": by_type, "tracking_lin_vel": round(tracked / max(tracked_steps, 1), 3),
           "level_end": round(env.terrain.mean_level(), 2), "cfg": opts.cfg}
    print(json.dumps(out) if opts.json else out)
    return out


if __name__ == "__main__":
    main()
