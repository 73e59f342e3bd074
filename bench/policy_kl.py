"""How far one PPO optimizer step moves the policy: the KL rsl-rl measures per minibatch, SNN vs MLP side by side.

    python bench/policy_kl.py --task a1_flat --num_envs 256 --json

rsl-rl's adaptive schedule divides the learning rate by 1.5 whenever a minibatch's KL (rollout policy vs the
current one) exceeds 2 x desired_kl. This trains each actor for ``--iterations`` PPO iterations and records that
KL at every minibatch: ``kl_first_step`` is the KL after the very first Adam step (same rollout, same learning
rate), ``kl_first_iteration_max`` the largest KL of the first iteration and ``learning_rate_end`` where the
adaptive schedule left the rate. ``clip_fraction_step_k`` is the share of samples whose probability ratio lies
outside PPO's clip range when minibatch k of the first iteration is evaluated (step 4 = after one epoch of 4
minibatches, step 19 = the last of five epochs), ``ratio_deviation_step_k`` the mean |ratio - 1| there; both actors
run five epochs here (legged_gym's figure), whatever their training default. A spike flips when its neuron's
input crosses the threshold, so a small step moves a spiking policy in jumps; this measures how much.

``mean_shift_lr<r>`` is the rms change of the action mean over 4096 rollout observations after one Adam step of rate
r (on a fixed random direction of the mean, from the trained actor; stateless control step), and
``mean_shift_slope`` its log-log slope over r = 1e-5..1e-3: 1 for a smooth network (the mean moves with the step),
well below 1 when randomly signed spike flips move it (their number grows with the step, their sum as its root).
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys

import torch
from rsl_rl.models import MLPModel
from tensordict import TensorDict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from envs.launch import script_session  # noqa: E402
from legged_snn.cli import add_cfg_flag, build_parser  # noqa: E402

SHIFT_RATES = (1e-5, 1e-4, 1e-3)


def mean_shift(model: MLPModel, obs: TensorDict, rates: tuple[float, ...] = SHIFT_RATES,
               samples: int = 4096) -> dict[str, float]:
    """rms change of the action mean (N, A) after one Adam step of each rate; ``obs`` the rollout's TensorDict."""
    x = model.get_latent(obs.flatten(0, 1)[:samples]).detach()  # (N, D) normalized inputs
    net = model.network if hasattr(model, "network") else model.mlp  # spiking network or MLP: (N, D) -> (N, A)
    with torch.no_grad():
        mean = net(x)
    direction = torch.randn(mean.shape, generator=torch.Generator().manual_seed(0))
    out = {}
    for rate in rates:
        moved = copy.deepcopy(net)
        opt = torch.optim.Adam(moved.parameters(), lr=rate)
        (moved(x) * direction).mean().backward()
        opt.step()
        with torch.no_grad():
            out[f"mean_shift_lr{rate:g}"] = float((moved(x) - mean).square().mean().sqrt())
    first, last = out[f"mean_shift_lr{rates[0]:g}"], out[f"mean_shift_lr{rates[-1]:g}"]
    out["mean_shift_slope"] = math.log(max(last, 1e-12) / max(first, 1e-12)) / math.log(rates[-1] / rates[0])
    return {k: round(v, 6) for k, v in out.items()}


def measure(args, actor: str) -> dict[str, float]:
    """Train ``actor`` for args.iterations PPO iterations; the per-minibatch KL figures."""
    args.actor, args.run_name = actor, f"policy_kl_{actor}"
    def five_epochs(env_cfg, train_cfg) -> None:  # both actors, whatever their training default
        train_cfg.algorithm.snn_learning_epochs = train_cfg.algorithm.spike_learning_epochs = None
        train_cfg.policy.snn["anneal"] = None  # the spiking forward from the first step (the default is smooth)

    session = script_session(args, "bench/policy_kl.py", edit=five_epochs)
    alg = session.runner.alg
    kls: list[float] = []
    ratios: list[tuple[float, float]] = []
    measure_kl = alg.actor.get_kl_divergence
    batches = alg.storage.mini_batch_generator
    current: dict = {}

    def tracked(*a, **k):
        for batch in batches(*a, **k):
            current["batch"] = batch
            yield batch
        current.pop("batch", None)

    log_prob = alg.actor.get_output_log_prob

    def recorded_ratio(actions):
        out = log_prob(actions)
        batch = current.get("batch")  # None during the rollout
        if batch is not None:
            with torch.no_grad():
                dev = (torch.exp(out - batch.old_actions_log_prob.squeeze()) - 1.0).abs()
                ratios.append((float((dev > alg.clip_param).float().mean()), float(dev.mean())))
        return out

    def recorded(old, new):
        kl = measure_kl(old, new)
        kls.append(float(kl.mean()))
        return kl

    alg.actor.get_kl_divergence = recorded
    alg.storage.mini_batch_generator = tracked
    alg.actor.get_output_log_prob = recorded_ratio
    session.runner.learn(args.iterations, init_at_random_ep_len=True)
    per_iteration = alg.num_learning_epochs * alg.num_mini_batches
    out = {"kl_first_step": round(kls[1], 5), "kl_first_iteration_max": round(max(kls[:per_iteration]), 5),
           "learning_rate_end": alg.learning_rate}
    for k in (4, per_iteration - 1):
        out[f"clip_fraction_step_{k}"], out[f"ratio_deviation_step_{k}"] = (round(x, 4) for x in ratios[k])
    out.update(mean_shift(alg.actor, alg.storage.observations))
    return out


def snn_over_mlp(out: dict, key: str) -> float:
    """out[key_snn] / out[key_mlp], one decimal."""
    return round(out[f"{key}_snn"] / max(out[f"{key}_mlp"], 1e-12), 1)


def main() -> None:
    p = add_cfg_flag(build_parser("bench/policy_kl.py"))
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
    for rate in SHIFT_RATES:
        out[f"mean_shift_lr{rate:g}_snn_over_mlp"] = snn_over_mlp(out, f"mean_shift_lr{rate:g}")
    out["first_step_kl_snn_over_mlp"] = snn_over_mlp(out, "kl_first_step")
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
