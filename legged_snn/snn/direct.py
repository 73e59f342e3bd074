"""Direct input (``snn.encoder_mode: direct``): the first LIF layer reads the normalized observation as its current.

No input spikes: every step the first layer's current is ``W x + b`` for the clamped observation x (N, D), the
"direct encoding" of most deep SNNs, where the first spiking layer is the encoder. Every signal after it is a
spike. It costs D x H1 multiply-accumulates per control step (the current is the same all T steps) where the
population encoder costs its receptive fields' MACs and the first layer's accumulates. The first layer reads 48
values instead of 480 Gaussian fields, so a weight step moves its current as a step moves an MLP's first layer.
"""

from __future__ import annotations

import torch
from torch import nn

ENCODER_MODES = ("deterministic", "probabilistic", "direct")  # snn.encoder_mode: population encoders, or direct


class DirectEncoder(nn.Module):
    """(N, D) normalized observation -> the same (N, D), clamped to ``[lo, hi]`` (no parameters, no spikes)."""

    mode = "direct"

    def __init__(self, obs_dim: int, timesteps: int = 5, clamp: tuple[float, float] = (-3.0, 3.0)) -> None:
        super().__init__()
        if timesteps < 1:
            raise ValueError(f"encoder.timesteps must be >= 1, got {timesteps}")
        self.obs_dim, self.timesteps = obs_dim, timesteps
        self.lo, self.hi = float(clamp[0]), float(clamp[1])

    @property
    def out_features(self) -> int:
        return self.obs_dim

    def stimulation(self, obs: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D) clamped input, the first layer's drive every step."""
        return obs.clamp(self.lo, self.hi)

    def hard_spikes(self, a: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(N, D) -> (T, N, D): the analog input repeated over T (what the first layer sees each step)."""
        return a.detach().expand(self.timesteps, *a.shape)

    def macs(self, first_width: int) -> int:
        """Multiply-accumulates per inference: the first layer's W x (once; the current repeats over T)."""
        return self.obs_dim * first_width
