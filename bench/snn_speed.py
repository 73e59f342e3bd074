"""One PPO-minibatch forward + backward of the spiking actor vs a time-major PopSAN reference vs an ELU MLP.

    python bench/snn_speed.py --json

``ours_*`` is the actor's default network (``PolicyCfg().snn``: direct input, ``sphere`` rows, membrane readout,
the rate gradient and graded spikes, up to 4 per step, since 2026-12-08), timed on spikes (the deployed forward,
as after the anneal). ``*_rate_*`` and
``*_bptt_*`` are that network with each gradient named (``snn.gradient: rate``, rate_grad.py, or exact BPTT),
``*_population_*`` the default with PopSAN's population code as its input (the default before 2026-12-07) and exact
BPTT, ``*_population_rate_*`` that one with the rate rule, ``*_binary_*`` the default with binary spikes
(``max_spikes`` 1, the default before 2026-12-08) and the rate rule.
All in one run, same batch (4096), hidden [512, 256, 128], T = 5, P = 10, at obs 48 and obs 235, in float32
and again under bf16 autocast (``--mixed_precision``; fields ``*_bf16_*``): the MLP and the reference then run their
matmuls in bf16, our actor its dense gradient products (its spike sums stay exact float32). ``cpu_bf16`` says whether
this CPU has bf16 arithmetic (AVX512-BF16 or AMX); without it bf16 is emulated and the ``*_bf16_*`` times mean little.
``dense_floor_over_mlp_flops_obs*`` is counted, not timed: the dense products that the default network's exact
BPTT through T steps needs, over the MLP's whole forward + backward; at equal matmul throughput
``snn_over_mlp_bptt`` cannot go below it. ``forward_over_mlp_obs*`` is timed: our actor's forward alone (with autograd
recording, as in training) over the MLP's whole forward + backward, the bound on ``snn_over_mlp`` for any backward,
an approximate one (rate-based, truncated) included. ``*_rate_*``: one backward product per layer, not T, and
``rate_cosine_obs*`` its gradient's cosine to exact BPTT's (the default network's) per weight matrix, on spikes.
The reference is written from PopSAN's published equations with the loop order of its paper: the time
loop outside, the layers inside, plain autograd (rectangular surrogate), deterministic encoder in a loop.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from legged_snn.cli import cpu_has_bf16  # noqa: E402
from legged_snn.rl.config import PolicyCfg  # noqa: E402
from legged_snn.snn.network import SpikingNetwork  # noqa: E402
from legged_snn.snn.neurons import NeuronCfg, rect_spike  # noqa: E402


class PopSanReference(nn.Module):
    """Time-major PopSAN actor: for t in T: encoder step, then every layer (c, v, o) update."""

    def __init__(self, obs_dim: int, actions: int, hidden: list[int], T: int = 5, P: int = 10) -> None:
        super().__init__()
        self.T, self.P, self.actions = T, P, actions
        self.mu = nn.Parameter(torch.linspace(-3, 3, P).repeat(obs_dim, 1))
        self.sigma = nn.Parameter(torch.full((obs_dim, P), 0.15 ** 0.5))
        sizes = [obs_dim * P, *hidden, actions * P]
        self.fcs = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
        self.dec = nn.Conv1d(actions, actions, P, groups=actions)  # per-action readout of P rates

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        n = obs.shape[0]
        a = torch.exp(-0.5 * (obs.unsqueeze(-1) - self.mu).square() / self.sigma.square()).flatten(1)
        v_enc = torch.zeros_like(a)
        c = [torch.zeros(n, fc.out_features) for fc in self.fcs]
        v = [torch.zeros(n, fc.out_features) for fc in self.fcs]
        o = [torch.zeros(n, fc.out_features) for fc in self.fcs]
        total = 0
        for _ in range(self.T):
            v_enc = v_enc + a
            s = (v_enc > 0.999).float()
            x = a + (s - a).detach()  # straight-through pseudo-gradient
            v_enc = v_enc - 0.999 * s.detach()
            for i, fc in enumerate(self.fcs):
                c[i] = 0.5 * c[i] + fc(x)
                v[i] = 0.75 * v[i] * (1.0 - o[i].detach()) + c[i]
                o[i] = rect_spike(v[i] - 0.5, 0.5)
                x = o[i]
            total = total + x
        rates = (total / self.T).view(n, self.actions, self.P)
        return self.dec(rates).squeeze(-1)


def mlp(obs_dim: int, actions: int, hidden: list[int]) -> nn.Module:
    sizes = [obs_dim, *hidden]
    layers: list[nn.Module] = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(i, o), nn.ELU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], actions))


def dense_flops(obs_dim: int, actions: int, hidden: list[int], n: int, T: int = 5) -> tuple[int, int]:
    """(ours, mlp) floating-point operations of the dense products one forward + backward of the default network
    (direct input, membrane readout of the last step, no leak) cannot avoid.

    Ours (exact BPTT): the first layer's current ``x W`` is one dense product (the observation is the same at every
    step) and so is its weight gradient ``x^T sum_t G_t``; each later LIF layer passes its gradient back once per
    step, ``G_t W`` over T*N rows (the inputs' spikes do not help: G is dense); the readout's gradient reaches every
    step's spikes as the same ``g W^T``, one product. The sums over spikes (forward, weight gradients) are not
    counted. The MLP: every matmul of its forward and backward (no input gradient for the first layer)."""
    mlp_sizes = [obs_dim, *hidden, actions]
    ours = 2 * 2 * n * obs_dim * hidden[0] + 2 * n * hidden[-1] * actions
    ours += sum(2 * T * n * i * o for i, o in zip(hidden[:-1], hidden[1:]))
    mlp = sum(2 * n * i * o * (2 if k == 0 else 3) for k, (i, o) in enumerate(zip(mlp_sizes[:-1], mlp_sizes[1:])))
    return ours, mlp


def default_network(obs_dim: int, actions: int, hidden: list[int], **changes) -> SpikingNetwork:
    """The spiking actor's network as ``PolicyCfg().snn`` builds it (``changes`` override fields), on spikes."""
    cfg = {**PolicyCfg().snn, **changes}
    actor_only = ("history", "rate_reg", "anneal")  # SpikingActor's, not the network's
    kwargs = {k: v for k, v in cfg.items() if k not in actor_only and k != "neuron"}
    kwargs["mu_range"] = tuple(kwargs["mu_range"])
    return SpikingNetwork(obs_dim, actions, hidden, neuron=NeuronCfg(**cfg["neuron"]), **kwargs)


def timed(model: nn.Module, obs: torch.Tensor, reps: int, bf16: bool = False) -> tuple[float, float]:
    """Median seconds of one forward + backward (loss = squared action mean), under bf16 autocast if ``bf16``, and
    median seconds of its forward part alone."""
    times, forwards = [], []
    for i in range(reps + 1):
        model.zero_grad(set_to_none=True)
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(obs).float().square().mean()
        t_forward = time.perf_counter() - t
        loss.backward()
        if i:  # the first call warms up
            times.append(time.perf_counter() - t)
            forwards.append(t_forward)
    return sorted(times)[len(times) // 2], sorted(forwards)[len(forwards) // 2]


def rate_cosines(exact: nn.Module, rate: nn.Module, obs: torch.Tensor) -> dict[str, float]:
    """Cosine between the rate rule's and exact BPTT's gradient of each weight matrix (same weights, same loss)."""
    grads = []
    for model in (exact, rate):
        model.zero_grad(set_to_none=True)
        model(obs).square().mean().backward()
        # a parametrized weight (weight centering) is stored as "<layer>.parametrizations.weight.original"
        grads.append({n.replace(".parametrizations.weight.original", ".weight"): p.grad.flatten()
                      for n, p in model.named_parameters() if n.endswith(("weight", "weight.original"))})
    return {n.removesuffix(".weight"): round(float(torch.nn.functional.cosine_similarity(g, grads[1][n], dim=0)), 3)
            for n, g in grads[0].items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.manual_seed(0)
    hidden, actions = [512, 256, 128], 12
    out: dict[str, float | str | int] = {"bench": "snn_speed", "batch": args.batch, "threads": torch.get_num_threads(),
                                         "cpu_bf16": cpu_has_bf16()}  # false: the *_bf16_* figures are emulated
    for d in (48, 235):
        obs = torch.randn(args.batch, d)
        floor, mlp_flops = dense_flops(d, actions, hidden, args.batch, T=PolicyCfg().snn["timesteps"])
        out[f"dense_floor_over_mlp_flops_obs{d}"] = round(floor / mlp_flops, 2)  # a lower bound on snn_over_mlp_bptt
        rate = default_network(d, actions, hidden, gradient="rate")
        bptt = default_network(d, actions, hidden, gradient="bptt")
        ours = {"rate": rate, "bptt": bptt}[PolicyCfg().snn["gradient"]]  # the default: timed once, named twice
        rate.load_state_dict(bptt.state_dict())
        out[f"rate_cosine_obs{d}"] = rate_cosines(bptt, rate, obs)
        binary = default_network(d, actions, hidden, gradient="rate",
                                 neuron={**PolicyCfg().snn["neuron"], "max_spikes": 1})
        population = default_network(d, actions, hidden, encoder_mode="deterministic", gradient="bptt")
        pop_rate = default_network(d, actions, hidden, encoder_mode="deterministic", gradient="rate")
        ref = PopSanReference(d, actions, hidden)
        base = mlp(d, actions, hidden)
        for model in (ref, base, rate, bptt, binary, population, pop_rate):  # warm-up: the first timed is not slower
            timed(model, obs, 1)
        for tag, bf16 in (("", False), ("_bf16", True)):  # fp32; bf16 autocast (--mixed_precision) for all three
            t_ours, t_fwd = timed(ours, obs, args.reps, bf16)
            t_ref = timed(ref, obs, max(2, args.reps // 2), bf16)[0]
            t_mlp = timed(base, obs, args.reps, bf16)[0]
            t_rate = t_ours if ours is rate else timed(rate, obs, args.reps, bf16)[0]
            t_bptt = t_ours if ours is bptt else timed(bptt, obs, args.reps, bf16)[0]
            out.update({f"ours_bptt{tag}_ms_obs{d}": round(t_bptt * 1e3, 1),
                        f"snn_over_mlp_bptt{tag}_obs{d}": round(t_bptt / t_mlp, 2)})
            t_bin = timed(binary, obs, args.reps, bf16)[0]
            out.update({f"ours_binary{tag}_ms_obs{d}": round(t_bin * 1e3, 1),
                        f"snn_over_mlp_binary{tag}_obs{d}": round(t_bin / t_mlp, 2)})
            t_pop = timed(population, obs, args.reps, bf16)[0]
            t_pop_rate = timed(pop_rate, obs, args.reps, bf16)[0]
            out.update({f"ours_population{tag}_ms_obs{d}": round(t_pop * 1e3, 1),
                        f"snn_over_mlp_population{tag}_obs{d}": round(t_pop / t_mlp, 2),
                        f"ours_population_rate{tag}_ms_obs{d}": round(t_pop_rate * 1e3, 1),
                        f"snn_over_mlp_population_rate{tag}_obs{d}": round(t_pop_rate / t_mlp, 2)})
            out.update({f"ours_rate{tag}_ms_obs{d}": round(t_rate * 1e3, 1),
                        f"snn_over_mlp_rate{tag}_obs{d}": round(t_rate / t_mlp, 2),
                        f"speedup_vs_reference_rate{tag}_obs{d}": round(t_ref / t_rate, 2)})
            out.update({f"ours{tag}_ms_obs{d}": round(t_ours * 1e3, 1), f"mlp{tag}_ms_obs{d}": round(t_mlp * 1e3, 1),
                        f"ours_forward{tag}_ms_obs{d}": round(t_fwd * 1e3, 1),
                        f"forward_over_mlp{tag}_obs{d}": round(t_fwd / t_mlp, 2),
                        f"reference{tag}_ms_obs{d}": round(t_ref * 1e3, 1),
                        f"speedup_vs_reference{tag}_obs{d}": round(t_ref / t_ours, 2),
                        f"snn_over_mlp{tag}_obs{d}": round(t_ours / t_mlp, 2)})
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
