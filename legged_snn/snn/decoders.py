"""Population decoder: firing rates of P output neurons per action -> per-action linear readout."""

from __future__ import annotations

import torch
from torch import nn


class PopulationDecoder(nn.Module):
    """(T, N, A * P) output spikes -> (N, A) action means: rate = mean over T, mean_a = w_a . rate_a + b_a."""

    def __init__(self, num_actions: int, pop_size: int = 10, tanh: bool = False) -> None:
        super().__init__()
        if pop_size < 1:
            raise ValueError(f"decoder.pop_size must be >= 1, got {pop_size}")
        self.num_actions, self.pop_size, self.tanh = num_actions, pop_size, tanh
        self.weight = nn.Parameter(torch.empty(num_actions, pop_size))
        self.bias = nn.Parameter(torch.zeros(num_actions))
        nn.init.uniform_(self.weight, -1.0 / pop_size ** 0.5, 1.0 / pop_size ** 0.5)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        rates = spikes.mean(dim=0).view(-1, self.num_actions, self.pop_size)  # (N, A, P)
        mean = (rates * self.weight).sum(dim=-1) + self.bias
        return torch.tanh(mean) if self.tanh else mean

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference (the readout)."""
        return self.num_actions * self.pop_size
