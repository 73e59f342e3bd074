"""``snn.weight_centering``: each LIF neuron's input weights kept zero-sum (torch parametrize), w = v - mean(v).

Spikes are non-negative, so Adam's steps on a neuron's weights share the sign of its upstream gradient on every
active input and add up coherently: the neuron's current shifts by ~lr x (active inputs) per step and the unit
saturates (silent or always firing, no surrogate gradient). The same happens to bounded units in an MLP: tanh and
sigmoid actors stay at standing on a1_flat where ELU walks (docs/snn_ppo.md). With zero-sum weights a step cannot move
a neuron's response to a uniform change of its inputs, only its response to their pattern; the bias alone moves
the operating point. The effective weight is an ordinary weight matrix, so exports and NIR read it unchanged.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize


class _ZeroSum(nn.Module):
    """(out, in) stored -> stored minus its row means (every neuron's weights sum to zero)."""

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return stored - stored.mean(dim=1, keepdim=True)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


def center_weights(layers: nn.ModuleList) -> None:
    """Reparametrize every layer's ``fc.weight`` (in place) as zero-sum rows; registered before ``scale_steps``."""
    for layer in layers:
        parametrize.register_parametrization(layer.fc, "weight", _ZeroSum())
