"""Decoders: the last spiking population's spikes over T -> (N, A) action means.

- ``rate`` (PopSAN): an output population of P spiking neurons per action; firing rate -> per-action linear readout.
- ``membrane``: no output population. The last hidden layer's spikes s_t (N, H) drive A non-spiking integrator
  neurons through dense synapses, ``u_t = (1 - leak) u_{t-1} + W s_t + b`` from ``u_0 = 0`` every control step; the
  action mean is ``u_T`` (``read: last``) or ``mean_t u_t`` (``read: mean``). Every signal between layers stays a
  spike; only the readout neurons' membrane is read (ILC-SAN, spikingjelly's ``NonSpikingLIFNode``).
"""

from __future__ import annotations

import torch
from torch import nn

DECODERS = ("membrane", "rate")
READS = ("last", "mean")


def check_decoder(decoder: str, leak: float, read: str) -> None:
    """One-line ValueError for a bad decoder setting, naming the field and the allowed values."""
    if decoder not in DECODERS:
        raise ValueError(f"snn.decoder must be one of {list(DECODERS)}, got {decoder!r}")
    if not 0.0 <= float(leak) <= 1.0:
        raise ValueError(f"snn.decoder_leak must be in [0, 1] (0 = a pure integrator), got {leak}")
    if read not in READS:
        raise ValueError(f"snn.decoder_read must be one of {list(READS)}, got {read!r}")


def integrator_weights(timesteps: int, leak: float, read: str) -> torch.Tensor:
    """(T,) k_t with mean = W (sum_t k_t s_t) + (sum_t k_t) b: the integrator's output is linear in its inputs.

    last: k_t = (1 - leak)^(T - t); mean: k_t = (1 / T) sum_{tau >= t} (1 - leak)^(tau - t) (t = 1..T)."""
    keep = 1.0 - float(leak)
    last = torch.tensor([keep ** (timesteps - 1 - t) for t in range(timesteps)], dtype=torch.float64)
    if read == "last":
        return last.float()
    # mean over tau of u_tau: input t reaches every u_tau with tau >= t, decayed (tau - t) times
    k = [sum(keep ** (tau - t) for tau in range(t, timesteps)) / timesteps for t in range(timesteps)]
    return torch.tensor(k, dtype=torch.float32)


class MembraneDecoder(nn.Module):
    """(T, N, H) spikes of the last hidden layer -> (N, A) membrane of A non-spiking integrators (see module doc).

    W starts as a linear layer's default init divided by sum_t k_t, so the initial mean is that layer applied to the
    firing rates (the MLP's head on [0, 1] units), whatever T, leak and read."""

    def __init__(self, in_features: int, num_actions: int, timesteps: int, leak: float = 0.0,
                 read: str = "last", tanh: bool = False) -> None:
        super().__init__()
        check_decoder("membrane", leak, read)
        self.in_features, self.num_actions, self.timesteps = in_features, num_actions, timesteps
        self.leak, self.read, self.tanh = float(leak), read, bool(tanh)
        self.fc = nn.Linear(in_features, num_actions)
        self.register_buffer("k", integrator_weights(timesteps, leak, read), persistent=False)
        with torch.no_grad():
            self.fc.weight.div_(float(self.k.sum()))
            self.fc.bias.div_(float(self.k.sum()))

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        """(T, N, H) -> (N, A): W (sum_t k_t s_t) + (sum_t k_t) b."""
        k = self.k.to(spikes.dtype)
        drive = torch.tensordot(k, spikes, dims=([0], [0]))  # (N, H)
        mean = nn.functional.linear(drive, self.fc.weight, self.fc.bias * k.sum())
        return torch.tanh(mean) if self.tanh else mean

    def step_by_step(self, spikes: torch.Tensor) -> torch.Tensor:
        """The same mean by running the integrator over T (reference for tests and exports)."""
        u = spikes.new_zeros(spikes.shape[1], self.num_actions)
        total = torch.zeros_like(u)
        for t in range(spikes.shape[0]):
            u = (1.0 - self.leak) * u + self.fc(spikes[t])
            total = total + u
        mean = u if self.read == "last" else total / spikes.shape[0]
        return torch.tanh(mean) if self.tanh else mean

    @property
    def input_size(self) -> int:
        """Spiking neurons feeding the readout (its synapses count as accumulates on their spikes)."""
        return self.in_features

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference: none; the readout accumulates weights of spikes (SOPs)."""
        return 0

    def neuron_updates(self) -> int:
        """Integrator state updates per inference (A per step)."""
        return self.num_actions * self.timesteps


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

    def neuron_updates(self) -> int:
        """No state: the readout is a MAC per output neuron."""
        return 0
