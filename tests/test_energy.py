"""Energy accounting: a network whose hidden neurons never spike costs only its input stage, MACs and neuron
updates (the per-layer shares of a spiking one are checked against hand counts in test_snn_actor.py)."""

from __future__ import annotations

import pytest
import torch

from legged_snn.snn import energy
from tests.snn_helpers import _actor, _obs


def test_a_silent_network_costs_only_its_neuron_updates_and_macs():
    actor = _actor(decoder="membrane")
    net = actor.network
    with torch.no_grad():  # no hidden neuron can reach threshold: every hidden spike removed
        for layer in net.layers:
            layer.fc.weight.zero_()
            layer.fc.bias.fill_(-10.0)
    net.record = True
    actor(_obs(4))
    rep = energy.report(net, [7, 32, 16, 3])
    hidden = sum(e["sops"] for k, e in rep.per_layer.items() if k != "encoder")
    assert hidden == 0 and net.spike_counts[1:].sum() == 0
    # what is left: the encoder's spikes into layer 1, the encoder's MACs and every neuron update
    assert rep.snn_energy_pj == pytest.approx(rep.per_layer["encoder"]["sops"] * 0.9 + rep.snn_macs * 4.6)
    assert rep.snn_energy_with_updates_pj - rep.snn_energy_pj == pytest.approx(rep.update_ops * 0.9)
    assert rep.update_ops == 2 * (32 + 16) * 5 + 7 * 10 * 5 + 3 * 5


def test_direct_input_and_a_leaky_readout_split_into_layers_that_sum_to_the_totals():
    actor = _actor(encoder_mode="direct", decoder_leak=0.2)
    net = actor.network
    net.record = True
    actor(_obs(4))
    rep = energy.report(net, [7, 32, 16, 3])
    layers = rep.per_layer
    assert layers["encoder"] == pytest.approx({"sops": 0.0, "macs": 7 * 32, "update_ops": 0,
                                               "energy_pj": 7 * 32 * 4.6, "energy_with_updates_pj": 7 * 32 * 4.6})
    assert layers["readout"]["update_ops"] == 2 * 3 * 5  # a leaky integrator: decay and add, per step
    assert rep.update_ops == 2 * (32 + 16) * 5 + 2 * 3 * 5
    for key, total in (("sops", rep.sops), ("macs", rep.snn_macs), ("energy_pj", rep.snn_energy_pj),
                       ("energy_with_updates_pj", rep.snn_energy_with_updates_pj)):
        assert sum(e[key] for e in layers.values()) == pytest.approx(total)
    assert layers["lif0"]["sops"] == pytest.approx(float(net.spike_counts[1]) * 16 / 4) and layers["lif0"]["sops"] > 0
