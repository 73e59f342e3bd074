"""Energy per inference of a task's spiking actor vs the MLP actor of the same size, from real rollouts.

    python bench/energy.py --task a1_flat [--checkpoint PATH] --json

Runs the policy (random weights without a checkpoint) in the task's env for ``--steps`` control steps,
counts spikes per population and prints firing rates, synaptic operations and energy (E_AC 0.9 pJ,
E_MAC 4.6 pJ; see legged_snn/snn/energy.py for what is charged): ``mlp_over_snn`` with SOPs and MACs only (the
papers' convention) and ``mlp_over_snn_with_updates`` with every neuron state update charged too. A checkpoint
runs with its own run's network settings (params/train.yaml: decoder, history, sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from envs.launch import apply_policy, script_session, trained_policy  # noqa: E402
from legged_snn.cli import build_parser  # noqa: E402
from legged_snn.rl.runner import CheckpointError  # noqa: E402
from legged_snn.snn import energy  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="a1_flat")
    p.add_argument("--checkpoint", help="path of a model_<it>.pt (random weights without one)")
    p.add_argument("--num_envs", type=int, default=256)
    p.add_argument("--steps", type=int, default=100, help="control steps to average over")
    p.add_argument("--history", choices=["stack", "membrane"])
    p.add_argument("--json", action="store_true")
    opts = p.parse_args()
    args = build_parser("bench/energy.py").parse_args(
        ["--task", opts.task, "--num_envs", str(opts.num_envs), "--actor", "snn"]
        + (["--history", opts.history] if opts.history else []))
    trained = trained_policy(os.path.dirname(os.path.abspath(opts.checkpoint))) if opts.checkpoint else None
    if trained is not None and trained.get("actor") != "snn":
        sys.exit(f"bench/energy.py: error: {opts.checkpoint} is an {trained.get('actor')!r} actor's checkpoint; "
                 "give a spiking run's model_<it>.pt")

    def own_network(env_cfg, train_cfg) -> None:  # the checkpoint's decoder, history and sizes
        if trained is not None:
            apply_policy(train_cfg, trained)
            if opts.history:
                train_cfg.policy.snn["history"] = opts.history

    session = script_session(args, "bench/energy.py", log=False, edit=own_network)
    runner, env = session.runner, session.env
    if opts.checkpoint:  # the runner's loader: task, decoder and shape checks, one-line errors; the actor only
        try:
            runner.load(opts.checkpoint, {"actor": True}, restore_env=False)
        except CheckpointError as exc:
            sys.exit(f"bench/energy.py: error: {exc}")
    policy = runner.alg.get_policy()
    policy.eval()
    net = policy.network
    obs = env.get_observations()
    net.reset_stats()
    net.record = True
    with torch.inference_mode():
        for _ in range(opts.steps):
            obs, _, dones, _ = env.step(policy(obs))
            policy.reset(dones)
    net.record = False
    rep = energy.report(net, [net.encoder.obs_dim, *session.train_cfg.policy.actor_hidden_dims, env.num_actions])
    out = {"bench": "energy", "task": args.task, "checkpoint": opts.checkpoint or "random",
           "snn_energy_pj": round(rep.snn_energy_pj, 1), "mlp_energy_pj": round(rep.mlp_energy_pj, 1),
           "mlp_over_snn": round(rep.mlp_over_snn, 3), "sops": round(rep.sops, 1),
           "snn_energy_with_updates_pj": round(rep.snn_energy_with_updates_pj, 1),
           "mlp_over_snn_with_updates": round(rep.mlp_over_snn_with_updates, 3),
           "decoder": net.decoder_kind, "history": session.train_cfg.policy.snn.get("history", "stack"),
           "snn_macs": rep.snn_macs, "mlp_macs": rep.mlp_macs, "neuron_updates": rep.neuron_updates,
           "update_ops": rep.update_ops,
           "firing_rates": {k: round(v, 4) for k, v in rep.firing_rates.items()},
           "per_layer": {k: {f: round(v, 1) for f, v in e.items()} for k, e in rep.per_layer.items()}}
    print(json.dumps(out) if opts.json else out)


if __name__ == "__main__":
    main()
