"""How far one PPO optimizer step moves the policy: the KL rsl-rl measures per minibatch, SNN vs MLP side by side.

    python bench/policy_kl.py --task a1_flat --num_envs 256 --json

rsl-rl's adaptive schedule divides the learning rate by 1.5 whenever a minibatch's KL (rollout policy vs the
current one) exceeds 2 x desired_kl. This trains each actor for ``--iterations`` PPO iterations and records that
KL at every minibatch: ``kl_first_step`` is the KL after the very first Adam step (same rollout, same learning
rate), ``kl_first_iteration_max`` the largest KL of the first iteration and ``learning_rate_end`` where the
adaptive schedule left the rate. A spike flips when its neuron's input crosses the threshold, so a small step
moves a spiking policy in jumps; this measures how much.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from envs.launch import make_session  # noqa: E402
from legged_snn.cli import build_parser  # noqa: E402


def measure(args, actor: str) -> dict[str, float]:
    """Train ``actor`` for args.iterations PPO iterations; the per-minibatch KL figures."""
    args.actor, args.run_name = actor, f"policy_kl_{actor}"
    session = make_session(args)
    alg = session.runner.alg
    kls: list[float] = []
    measure_kl = alg.actor.get_kl_divergence

    def recorded(old, new):
        kl = measure_kl(old, new)
        kls.append(float(kl.mean()))
        return kl

    alg.actor.get_kl_divergence = recorded
    session.runner.learn(args.iterations, init_at_random_ep_len=True)
    per_iteration = alg.num_learning_epochs * alg.num_mini_batches
    return {"kl_first_step": round(kls[1], 5), "kl_first_iteration_max": round(max(kls[:per_iteration]), 5),
            "learning_rate_end": alg.learning_rate}


def main() -> None:
    p = build_parser("bench/policy_kl.py")
    p.add_argument("--iterations", type=int, default=3, help="PPO iterations per actor")
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    args = p.parse_args()
    if args.num_envs is None:
        args.num_envs = 256
    if args.lr_schedule == "fixed":
        raise SystemExit("bench/policy_kl.py: rsl-rl only measures the KL under the adaptive schedule; drop "
                         "--lr_schedule fixed")
    args.lr_schedule = "adaptive"  # both actors, whatever their default
    out: dict = {"bench": "policy_kl", "task": args.task, "num_envs": args.num_envs, "iterations": args.iterations}
    for actor in ("snn", "mlp"):
        out.update({f"{k}_{actor}": v for k, v in measure(args, actor).items()})
    out["first_step_kl_snn_over_mlp"] = round(out["kl_first_step_snn"] / max(out["kl_first_step_mlp"], 1e-12), 1)
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
