"""Spike accounting and the energy model (45 nm figures, Horowitz 2014).

SNN energy per inference = synaptic operations (spikes x fan-out, summed over layers and timesteps; the membrane
readout's synapses are accumulates on the last hidden layer's spikes) x E_AC + MACs of the non-spiking parts
(encoder receptive fields, a rate decoder's readout) x E_MAC. MLP energy per inference = its MACs x E_MAC.
That is the papers' convention (SOPs only). Neuron state updates are charged in a second figure
(``*_with_updates``): per neuron-step 2 operations for a LIF neuron (current and voltage decay), 1 for an encoder
neuron (v += A), 1 for a readout integrator (2 when leaky), each at E_AC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

E_MAC_PJ = 4.6  # 32-bit float multiply-accumulate
E_AC_PJ = 0.9  # 32-bit float accumulate
ENCODER_MACS_PER_FIELD = 4  # difference, square, scale, exp: one MAC-equivalent each
LIF_OPS_PER_UPDATE = 2  # c <- a c + I; v <- b v + c (the reset is a select)
ENCODER_OPS_PER_UPDATE = 1  # v <- v + A


def mlp_macs(sizes: list[int]) -> int:
    """MACs of one inference through dense layers of the given widths [in, h1, ..., out]."""
    return sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))


@dataclass
class SpikeReport:
    firing_rates: dict[str, float]  # spikes per neuron per timestep, per population
    sops: float  # synaptic operations per inference
    snn_macs: float  # MACs per inference of the non-spiking parts
    neuron_updates: float  # LIF and readout-integrator state updates per inference
    snn_energy_pj: float  # SOPs and MACs only (the papers' convention)
    mlp_macs: float
    mlp_energy_pj: float
    update_ops: float = 0.0  # operations of every neuron state update per inference (encoder, LIF, readout)
    per_layer: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per population (encoder, lif0.., output) and the readout: ``sops`` (its outgoing synaptic operations),
    ``macs``, ``update_ops``, ``energy_pj`` (SOPs and MACs) and ``energy_with_updates_pj``; they sum to the totals."""

    @property
    def mlp_over_snn(self) -> float:
        return self.mlp_energy_pj / self.snn_energy_pj if self.snn_energy_pj > 0 else float("inf")

    @property
    def snn_energy_with_updates_pj(self) -> float:
        """SOPs, MACs and every neuron state update charged at E_AC per operation."""
        return self.snn_energy_pj + self.update_ops * E_AC_PJ

    @property
    def mlp_over_snn_with_updates(self) -> float:
        e = self.snn_energy_with_updates_pj
        return self.mlp_energy_pj / e if e > 0 else float("inf")

    def scalars(self, prefix: str = "SNN") -> dict[str, float]:
        out = {f"{prefix}/firing_rate_{k}": v for k, v in self.firing_rates.items()}
        out.update({f"{prefix}/sops": self.sops, f"{prefix}/energy_pj": self.snn_energy_pj,
                    f"{prefix}/mlp_energy_pj": self.mlp_energy_pj, f"{prefix}/mlp_over_snn": self.mlp_over_snn,
                    f"{prefix}/energy_with_updates_pj": self.snn_energy_with_updates_pj,
                    f"{prefix}/mlp_over_snn_with_updates": self.mlp_over_snn_with_updates})
        return out


def _entry(sops: float, macs: float, ops: float) -> dict[str, float]:
    """One layer's share: counts per inference and its energy (pJ) with and without neuron updates."""
    e = sops * E_AC_PJ + macs * E_MAC_PJ
    return {"sops": sops, "macs": macs, "update_ops": ops, "energy_pj": e, "energy_with_updates_pj": e + ops * E_AC_PJ}


def report(network, mlp_sizes: list[int]) -> SpikeReport:
    """Energy figures from a SpikingNetwork's counters (since its last ``reset_stats``)."""
    n = max(network.inferences, 1)
    names = network.layer_names()
    counts, steps = network.spike_counts.tolist(), network.neuron_steps.tolist()
    rates = {name: (c / s if s else 0.0) for name, c, s in zip(names, counts, steps)}
    sops = [c * f / n for c, f in zip(counts, network.fan_outs())]
    direct = getattr(network, "direct", False)  # direct input: the first layer's W x is MACs, no encoder neurons
    enc_macs = network.encoder.macs(network.layers[0].out_features) if direct else (
        network.encoder.out_features * ENCODER_MACS_PER_FIELD)
    enc_ops = 0 if direct else ENCODER_OPS_PER_UPDATE * network.encoder.out_features * network.timesteps
    per_layer = {"encoder": _entry(sops[0], enc_macs, enc_ops)}
    for name, s, layer in zip(names[1:], sops[1:], network.layers):
        per_layer[name] = _entry(s, 0.0, LIF_OPS_PER_UPDATE * layer.out_features * network.timesteps)
    readout = network.decoder.neuron_updates()
    leaky = getattr(network.decoder, "leak", 0.0) > 0
    per_layer["readout"] = _entry(0.0, network.decoder.macs, readout * (2 if leaky else 1))
    total = {k: sum(e[k] for e in per_layer.values()) for k in ("sops", "macs", "update_ops", "energy_pj")}
    lif = sum(layer.out_features for layer in network.layers) * network.timesteps
    mlp = mlp_macs(mlp_sizes)
    return SpikeReport(rates, total["sops"], total["macs"], lif + readout, total["energy_pj"], mlp, mlp * E_MAC_PJ,
                       total["update_ops"], per_layer)
