"""The rate gradient (snn.gradient: rate): exact on the time-averaged network, kernel = torch loop, config errors."""

import pytest
import torch

from legged_snn.snn import network, neurons, rate_grad
from legged_snn.snn.network import SpikingNetwork
from legged_snn.snn.neurons import NeuronCfg
from legged_snn.snn.rate_grad import check_gradient, scan_sensitivity


def _net(hidden, gradient, reset="popsan", surrogate="fast_sigmoid", decoder="membrane", seed=0, max_spikes=1,
         **kw):
    torch.manual_seed(seed)
    cfg = NeuronCfg(reset=reset, surrogate=surrogate, max_spikes=max_spikes)
    return SpikingNetwork(6, 3, hidden, timesteps=5, neuron=cfg, decoder=decoder, init_gain=2.0,
                          gradient=gradient, **kw).double()


def _grads(net, obs, weights, smooth):
    net.smooth = smooth
    net.zero_grad()
    (net(obs) * weights).sum().backward()
    return {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("reset", ["popsan", "zero", "subtract"])
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "rect"])
def test_rate_gradient_is_exact_on_the_time_averaged_network(reset, surrogate):
    """Smooth forward (lambda = 1), one hidden layer: its current is the same every step and the membrane readout
    (last step, no leak) is linear in the rate, so the network is its own time average and the rate rule must give
    BPTT's gradient for every parameter (encoder fields, layer, readout)."""
    obs = torch.randn(64, 6, dtype=torch.float64)
    weights = torch.randn(64, 3, dtype=torch.float64)
    exact = _grads(_net([16], "bptt", reset, surrogate), obs, weights, 1.0)
    rate = _grads(_net([16], "rate", reset, surrogate), obs, weights, 1.0)
    assert exact.keys() == rate.keys() and len(exact) >= 6
    for name in exact:
        scale = exact[name].abs().max().clamp(min=1e-12)
        assert (exact[name] - rate[name]).abs().max() / scale < 1e-6, name
    assert exact["layers.0.fc.weight"].abs().max() > 1e-4  # not vacuous


DIRECT = {"encoder_mode": "direct", "weight_centering": "sphere", "bias_lr_scale": 0.1}  # the default actor's input


@pytest.mark.parametrize("max_spikes", [1, 4])
@pytest.mark.parametrize("reset", ["popsan", "subtract"])
def test_rate_gradient_is_exact_with_direct_input(reset, max_spikes, monkeypatch):
    """The default actor's network (direct input, sphere rows, scaled bias steps), smooth, one hidden layer: the
    first layer's current W x + b is the same every step, so the rate rule must give BPTT's gradient for every
    stored parameter, the first layer's included; multi-spike neurons too (their rate is the mean count)."""
    obs = torch.randn(64, 6, dtype=torch.float64)
    weights = torch.randn(64, 3, dtype=torch.float64)
    calls = []
    monkeypatch.setattr(network, "rate_layer", lambda *a: calls.append(1) or rate_grad.rate_layer(*a))
    exact = _grads(_net([16], "bptt", reset, max_spikes=max_spikes, **DIRECT), obs, weights, 1.0)
    assert not calls
    rate = _grads(_net([16], "rate", reset, max_spikes=max_spikes, **DIRECT), obs, weights, 1.0)
    assert calls  # the rate rule ran, not BPTT
    assert exact.keys() == rate.keys() and len(exact) >= 4
    for name in exact:
        scale = exact[name].abs().max().clamp(min=1e-12)
        assert (exact[name] - rate[name]).abs().max() / scale < 1e-6, name
    first = [n for n in exact if n.startswith("layers.0.fc") and "weight" in n]
    assert first and exact[first[0]].abs().max() > 1e-4  # not vacuous


@pytest.mark.parametrize("direct, max_spikes", [(False, 1), (True, 1), (True, 4)])
def test_rate_gradient_on_spikes_points_like_bptt(direct, max_spikes):
    """On spikes (two hidden layers) the rule is an approximation: its gradient must still point the same way as
    BPTT's for every layer's weights (cosine > 0.8; measured 0.93-0.99 at init), multi-spike counts included."""
    obs = torch.randn(512, 6, dtype=torch.float64)
    weights = torch.randn(512, 3, dtype=torch.float64)
    kw = {**(DIRECT if direct else {}), "max_spikes": max_spikes}
    exact = _grads(_net([32, 16], "bptt", **kw), obs, weights, 0.0)
    rate = _grads(_net([32, 16], "rate", **kw), obs, weights, 0.0)
    assert exact.keys() == rate.keys()
    for name in exact:
        if "layers" in name and "weight" in name:
            cos = torch.nn.functional.cosine_similarity(exact[name].flatten(), rate[name].flatten(), dim=0)
            assert cos > 0.8, (name, float(cos))
    wrong = _net([32, 16], "rate", seed=1, **kw)  # another network's gradient must not pass
    other = _grads(wrong, obs, weights, 0.0)
    name = next(n for n in exact if n.startswith("layers.1.fc") and "weight" in n)
    assert torch.nn.functional.cosine_similarity(exact[name].flatten(), other[name].flatten(), dim=0) < 0.5


@pytest.mark.parametrize("kind", ["fast_sigmoid", "rect"])
@pytest.mark.parametrize("smooth", [0.0, 0.5])
@pytest.mark.parametrize("reset, max_spikes", [("popsan", 1), ("popsan", 4), ("subtract", 4), ("zero", 3)])
def test_sensitivity_kernel_equals_torch_loop(kind, smooth, reset, max_spikes, monkeypatch):
    current = torch.randn(5, 33, 7, dtype=torch.float64) * (2.0 if max_spikes > 1 else 1.0)  # reach the counts
    cfg = NeuronCfg(surrogate=kind, reset=reset, max_spikes=max_spikes)
    fast = scan_sensitivity(current, cfg, smooth)
    monkeypatch.setattr(neurons, "USE_KERNELS", False)
    slow = scan_sensitivity(current, cfg, smooth)
    torch.testing.assert_close(fast[0], slow[0])
    torch.testing.assert_close(fast[1], slow[1])
    assert fast[2] == pytest.approx(slow[2]) and 0 < fast[2] <= 1
    spikes, _ = neurons.lif_scan(current, tuple(torch.zeros(33, 7, dtype=torch.float64) for _ in range(3)), cfg, smooth)
    torch.testing.assert_close(fast[0], spikes)  # the same forward as the BPTT scan


def test_rate_forward_equals_bptt_forward_and_rollout_has_no_graph():
    obs = torch.randn(32, 6)
    a, b = _net([16, 8], "bptt").float(), _net([16, 8], "rate").float()
    torch.testing.assert_close(a(obs), b(obs))
    with torch.no_grad():
        assert not b(obs).requires_grad


def test_bad_gradient_settings():
    with pytest.raises(ValueError, match="snn.gradient must be one of"):
        check_gradient("sltt2")
    with pytest.raises(ValueError, match="needs snn.history 'stack'"):
        check_gradient("rate", "membrane")


def test_rate_backward_takes_bf16_spikes_from_an_autocast_forward():
    """Under CUDA autocast the layer's currents, spikes and sensitivities come out bf16 while its weight stays
    float32: the backward must run and match the float32 products to bf16 precision."""
    torch.manual_seed(0)
    weight = torch.randn(7, 5, requires_grad=True)
    bias = torch.zeros(7, requires_grad=True)
    carrier = torch.rand(3, 16, 5).round().requires_grad_()
    spikes, sens, r_in = torch.rand(3, 16, 7).round(), torch.rand(16, 7), carrier.detach().mean(dim=0)
    grads = []
    for dtype in (torch.float32, torch.bfloat16):
        out = rate_grad._RateLIF.apply(carrier, weight, bias, spikes.to(dtype), sens.to(dtype), r_in)
        grads.append(torch.autograd.grad(out.float().square().sum(), (weight, carrier)))
    assert grads[1][0].dtype == torch.float32 and grads[1][1].dtype == carrier.dtype
    for full, half in zip(*grads):
        torch.testing.assert_close(half, full, rtol=2e-2, atol=2e-2)
