"""bench/snn_speed.py's counted floor: the dense products of exact BPTT against the MLP's forward + backward."""

from __future__ import annotations

import importlib.util
import os

import torch
from torch.utils.flop_counter import FlopCounterMode

_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "snn_speed.py")
_spec = importlib.util.spec_from_file_location("bench_snn_speed", _path)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_mlp_flops_are_what_torch_counts():
    torch.manual_seed(0)
    model, obs = bench.mlp(7, 3, [16, 8]), torch.randn(32, 7)
    with FlopCounterMode(display=False) as counter:
        model(obs).square().mean().backward()
    assert bench.dense_flops(7, 3, [16, 8], 32)[1] == counter.get_total_flops()


def test_snn_floor_by_hand():
    # obs 2, hidden [3, 4], 1 action, N = 1, T = 2: first layer's current and weight gradient 2 * 2*2*3 = 24,
    # layer 2's gradient per step 2*T*3*4 = 48, the readout's gradient once 2*4*1 = 8
    assert bench.dense_flops(2, 1, [3, 4], 1, T=2)[0] == 80


def test_timed_network_is_the_actors_default():
    from legged_snn.rl.config import PolicyCfg

    net = bench.default_network(7, 3, [16, 8])
    assert net.direct == (PolicyCfg().snn["encoder_mode"] == "direct")
    assert [layer.fc.in_features for layer in net.layers] == [7, 16]
    assert net(torch.randn(4, 7)).shape == (4, 3)
    population = bench.default_network(7, 3, [16, 8], encoder_mode="deterministic")
    assert not population.direct and population.layers[0].fc.in_features == 7 * PolicyCfg().snn["pop_in"]


def test_timed_returns_the_forward_within_the_whole_step():
    torch.manual_seed(0)
    model, obs = bench.mlp(7, 3, [16, 8]), torch.randn(32, 7)
    total, forward = bench.timed(model, obs, reps=3)
    assert 0 < forward < total
    assert model[0].weight.grad is not None  # the backward ran


def test_rate_cosines_name_every_weight_matrix_of_the_centred_default():
    torch.manual_seed(0)
    exact = bench.default_network(6, 2, [16, 8], gradient="bptt")
    rate = bench.default_network(6, 2, [16, 8], gradient="rate")
    rate.load_state_dict(exact.state_dict())
    cos = bench.rate_cosines(exact, rate, torch.randn(64, 6))
    assert set(cos) == {"layers.0.fc", "layers.1.fc", "decoder.fc"}
    assert all(-1.0 <= c <= 1.0 for c in cos.values())


def test_rate_cosines_of_a_network_with_itself_are_one():
    torch.manual_seed(0)
    exact = bench.default_network(6, 2, [16, 8], gradient="bptt")
    copy = bench.default_network(6, 2, [16, 8], gradient="bptt")
    copy.load_state_dict(exact.state_dict())
    assert all(c == 1.0 for c in bench.rate_cosines(exact, copy, torch.randn(64, 6)).values())
