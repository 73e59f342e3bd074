"""Population decoder: firing rates of P output neurons per action -> per-action linear readout."""

from __future__ import annotations

import torch
from torch import nn


class PopulationDecoder(nn.Module):
    """(T, N, A * P) output spikes -> (N, A) action means: rate = mean over T, mean_a = w_a . rate_a + b_a.

    ``gain`` scales the stored parameters (w = gain * weight, b = gain * bias; the initial readout is the same for
    every gain), so an optimizer step moves the readout ``gain`` times as far as it moves the spiking weights:
    rates are bounded to [0, 1], and with gain 1 the action range grows by ~lr per Adam step only."""

    def __init__(self, num_actions: int, pop_size: int = 10, tanh: bool = False, gain: float = 1.0) -> None:
        super().__init__()
        if pop_size < 1:
            raise ValueError(f"decoder.pop_size must be >= 1, got {pop_size}")
        if not gain > 0:
            raise ValueError(f"snn.readout_gain must be > 0, got {gain}")
        self.num_actions, self.pop_size, self.tanh, self.gain = num_actions, pop_size, tanh, float(gain)
        self.weight = nn.Parameter(torch.empty(num_actions, pop_size))
        self.bias = nn.Parameter(torch.zeros(num_actions))
        bound = 1.0 / pop_size ** 0.5 / self.gain
        nn.init.uniform_(self.weight, -bound, bound)

    def readout_weight(self) -> torch.Tensor:
        """(A, P) effective readout weights."""
        return self.weight * self.gain

    def readout_bias(self) -> torch.Tensor:
        """(A,) effective readout bias."""
        return self.bias * self.gain

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        rates = spikes.mean(dim=0).view(-1, self.num_actions, self.pop_size)  # (N, A, P)
        mean = (rates * self.readout_weight()).sum(dim=-1) + self.readout_bias()
        return torch.tanh(mean) if self.tanh else mean

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference (the readout)."""
        return self.num_actions * self.pop_size
