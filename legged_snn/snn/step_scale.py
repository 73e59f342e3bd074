"""``snn.lr_scale``: the spiking network's parameters stored as p / g, used as g x stored (torch parametrize).

rsl-rl's PPO trains actor and critic with one Adam optimizer and one learning rate. Adam moves every stored
parameter by about the learning rate per step, so with the scale g the spiking network's effective step is g x the
rate while the critic keeps the full one. A spiking layer is far more sensitive to a step than an MLP layer: its
~50 coincident binary inputs per timestep add their weight steps coherently, and the LIF neuron integrates the
current over T (c -> c / (1 - a), v -> v / (1 - b): up to 8x at PopSAN's decays), so a rate that suits the MLP and its
critic saturates or silences the spiking units (docs/snn.md). The initial values are unchanged by g.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize


class _Scale(nn.Module):
    """value = g x stored; ``right_inverse`` stores value / g (so registering keeps the current value)."""

    def __init__(self, gain: float) -> None:
        super().__init__()
        self.gain = float(gain)

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return stored * self.gain

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value / self.gain


def scale_steps(network: nn.Module, gain: float, overrides: dict[tuple[int, str], float] | None = None) -> None:
    """Reparametrize every parameter of ``network`` (in place) as gain x stored; ``overrides`` maps (id(module),
    parameter name) to another gain (snn.bias_lr_scale). A gain of 1 leaves its parameter untouched."""
    if not gain > 0:
        raise ValueError(f"snn.lr_scale must be > 0, got {gain}")
    overrides = overrides or {}
    targets = [(module, name) for module in network.modules() for name, _ in module.named_parameters(recurse=False)]
    for module, name in targets:
        g = overrides.get((id(module), name), gain)
        if g != 1.0:
            parametrize.register_parametrization(module, name, _Scale(g))


def stepped_tensor(module: nn.Module, name: str) -> torch.Tensor:
    """The leaf Adam steps for ``module.name``'s stored value (parametrize's ``original``): itself, or, where
    ``scale_steps`` scaled that stored value, the leaf under its scale (value = g x leaf)."""
    rules = module.parametrizations[name]
    return rules.parametrizations.original.original if parametrize.is_parametrized(rules, "original") \
        else rules.original
