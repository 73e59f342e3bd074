"""``snn.weight_centering``: each LIF neuron's input weights kept zero-sum (torch parametrize), w = v - mean(v).

Spikes are non-negative, so Adam's steps on a neuron's weights share the sign of its upstream gradient on every
active input and add up coherently: the neuron's current shifts by ~lr x (active inputs) per step and the unit
saturates (silent or always firing, no surrogate gradient). The same happens to bounded units in an MLP: tanh and
sigmoid actors stay at standing on a1_flat where ELU walks (docs/snn_ppo.md). With zero-sum weights a step cannot move
a neuron's response to a uniform change of its inputs, only its response to their pattern; the bias alone moves
the operating point. The effective weight is an ordinary weight matrix, so exports and NIR read it unchanged.

``"standardize"`` also holds each row's norm at its initial value, w = n0 (v - mean v) / |v - mean v|: Adam's steps
turn a neuron's weight vector but cannot grow it, so a full-size PPO step cannot push the currents out of the
surrogate's live band by scaling them (weight normalization with a fixed gain; Salimans & Kingma 2016).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils import parametrize


class _ZeroSum(nn.Module):
    """(out, in) stored -> stored minus its row means (every neuron's weights sum to zero)."""

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return stored - stored.mean(dim=1, keepdim=True)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


class _FixedNorm(nn.Module):
    """(out, in) stored -> its centred rows rescaled to the (out, 1) norms they had at registration."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        centred = weight.detach() - weight.detach().mean(dim=1, keepdim=True)
        self.register_buffer("norms", centred.norm(dim=1, keepdim=True).clamp_min(1e-6))

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        centred = stored - stored.mean(dim=1, keepdim=True)
        return centred * (self.norms / centred.norm(dim=1, keepdim=True).clamp_min(1e-12))

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


def check_centering(value, field: str) -> None:
    """A one-line ValueError unless ``value`` is a weight-centering mode: false, true or "standardize"."""
    if not (isinstance(value, bool) or value == "standardize"):
        raise ValueError(f"{field} must be true, false or standardize, got {value!r}")


def center_weights(linears: Iterable[nn.Linear], mode: bool | str = True) -> None:
    """Reparametrize every linear's ``weight`` (in place) as zero-sum rows (``mode`` True) or zero-sum rows of
    their initial norm ("standardize"); registered before ``scale_steps``."""
    for fc in linears:
        rule = _FixedNorm(fc.weight) if mode == "standardize" else _ZeroSum()
        parametrize.register_parametrization(fc, "weight", rule)
