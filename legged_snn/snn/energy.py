"""Spike accounting and the energy model (45 nm figures, Horowitz 2014).

SNN energy per inference = synaptic operations (spikes x fan-out, summed over layers and timesteps) x E_AC
+ MACs of the non-spiking parts (encoder receptive fields, decoder readout) x E_MAC.
MLP energy per inference = its MACs x E_MAC. Neuron state updates are reported, not charged (as in the
usual model); ``neuron_updates`` lets a reader charge them.
"""

from __future__ import annotations

from dataclasses import dataclass

E_MAC_PJ = 4.6  # 32-bit float multiply-accumulate
E_AC_PJ = 0.9  # 32-bit float accumulate
ENCODER_MACS_PER_FIELD = 4  # difference, square, scale, exp: one MAC-equivalent each


def mlp_macs(sizes: list[int]) -> int:
    """MACs of one inference through dense layers of the given widths [in, h1, ..., out]."""
    return sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))


@dataclass
class SpikeReport:
    firing_rates: dict[str, float]  # spikes per neuron per timestep, per population
    sops: float  # synaptic operations per inference
    snn_macs: float  # MACs per inference of the non-spiking parts
    neuron_updates: float  # LIF state updates per inference (not charged)
    snn_energy_pj: float
    mlp_macs: float
    mlp_energy_pj: float

    @property
    def mlp_over_snn(self) -> float:
        return self.mlp_energy_pj / self.snn_energy_pj if self.snn_energy_pj > 0 else float("inf")

    def scalars(self, prefix: str = "SNN") -> dict[str, float]:
        out = {f"{prefix}/firing_rate_{k}": v for k, v in self.firing_rates.items()}
        out.update({f"{prefix}/sops": self.sops, f"{prefix}/energy_pj": self.snn_energy_pj,
                    f"{prefix}/mlp_energy_pj": self.mlp_energy_pj, f"{prefix}/mlp_over_snn": self.mlp_over_snn})
        return out


def report(network, mlp_sizes: list[int]) -> SpikeReport:
    """Energy figures from a SpikingNetwork's counters (since its last ``reset_stats``)."""
    n = max(network.inferences, 1)
    names = network.layer_names()
    counts, steps = network.spike_counts.tolist(), network.neuron_steps.tolist()
    rates = {name: (c / s if s else 0.0) for name, c, s in zip(names, counts, steps)}
    sops = sum(c * f for c, f in zip(counts, network.fan_outs())) / n
    enc = network.encoder.out_features * ENCODER_MACS_PER_FIELD
    macs = enc + network.decoder.macs
    hidden = sum(layer.out_features for layer in network.layers)
    updates = hidden * network.timesteps
    mlp = mlp_macs(mlp_sizes)
    return SpikeReport(rates, sops, macs, updates, sops * E_AC_PJ + macs * E_MAC_PJ, mlp, mlp * E_MAC_PJ)
