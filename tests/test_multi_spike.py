"""Multi-spike LIF neurons (``snn.neuron.max_spikes`` > 1): hand-computed counts, fused == reference, exports."""

from __future__ import annotations

import onnxruntime as ort
import pytest
import torch

from legged_snn.snn.network import SpikingNetwork
from legged_snn.snn.neurons import NeuronCfg, lif_scan, lif_scan_reference, multi_smooth, multi_surrogate
from legged_snn.snn.nir_export import to_nir
from tests.snn_helpers import _actor, _obs


def _zeros(n: int, h: int) -> tuple[torch.Tensor, ...]:
    return tuple(torch.zeros(n, h, dtype=torch.float64) for _ in range(3))


def test_hand_computed_counts_three_steps():
    # a = 0.5, b = 0.75, th = 0.5, at most 3 spikes a step; currents 1.3, 0.2, 2.0
    current = torch.tensor([1.3, 0.2, 2.0], dtype=torch.float64).view(3, 1, 1)
    spikes, (c, v, o) = lif_scan(current, _zeros(1, 1), NeuronCfg(reset="popsan", max_spikes=3))
    # t1: c = 1.3, v = 1.3 -> 2 spikes (crosses 0.5 and 1.0, not 1.5); t2: c = 0.85, v = 0 + 0.85 -> 1 spike
    # t3: c = 2.425, v = 2.425 -> 4 thresholds crossed, capped at 3
    assert spikes.flatten().tolist() == [2.0, 1.0, 3.0]
    assert c.item() == pytest.approx(2.425) and v.item() == pytest.approx(2.425) and o.item() == 3.0
    spikes, (c, v, o) = lif_scan(current, _zeros(1, 1), NeuronCfg(reset="subtract", max_spikes=3))
    # subtract removes th per spike: t2 v = 0.75 * 1.3 + 0.85 - 2 * 0.5 = 0.825 -> 1; t3 v = 0.61875 + 2.425 - 0.5
    assert spikes.flatten().tolist() == [2.0, 1.0, 3.0] and v.item() == pytest.approx(2.54375)
    binary, _ = lif_scan(current, _zeros(1, 1), NeuronCfg(reset="popsan"))
    assert binary.flatten().tolist() == [1.0, 1.0, 1.0]  # max_spikes = 1 is the binary neuron


@pytest.mark.parametrize("reset", ["popsan", "subtract", "zero"])
@pytest.mark.parametrize("kind", ["rect", "fast_sigmoid"])
def test_fused_scan_equals_reference_with_state(reset, kind):
    torch.manual_seed(1)
    cfg = NeuronCfg(reset=reset, surrogate=kind, max_spikes=4)
    current = (torch.randn(5, 6, 9, dtype=torch.float64) * 1.5).requires_grad_()
    state = tuple((torch.rand(6, 9, dtype=torch.float64) * s).requires_grad_() for s in (1.0, 1.0, 3.0))
    state = (state[0], state[1], state[2].detach().round())  # previous counts
    out, new = lif_scan(current, state, cfg)
    ref, ref_new = lif_scan_reference(current, state, cfg)
    torch.testing.assert_close(out, ref, atol=0, rtol=0)
    assert out.max() > 1  # counts above one occur
    w = torch.randn_like(out)
    loss = (out * w).sum() + new[1].square().sum()
    loss_ref = (ref * w).sum() + ref_new[1].square().sum()
    g = torch.autograd.grad(loss, [current, state[0], state[1]])
    g_ref = torch.autograd.grad(loss_ref, [current, state[0], state[1]])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("kind", [0, 1])
def test_surrogate_is_the_smooth_counts_derivative(kind):
    v = torch.linspace(-1.0, 3.0, 401, dtype=torch.float64).add(0.0013).requires_grad_()  # off the window edges
    smooth = multi_smooth(v, 0.5, 0.5, kind, 4)
    (d,) = torch.autograd.grad(smooth.sum(), v)
    torch.testing.assert_close(d, multi_surrogate(v.detach(), 0.5, 0.5, kind, 4), atol=1e-9, rtol=0)
    assert smooth[-1] > 3.0  # the smooth count grows towards max_spikes


def test_network_fused_equals_reference_and_counts_energy():
    torch.manual_seed(2)
    net = SpikingNetwork(8, 3, [16, 12], neuron=NeuronCfg(surrogate="fast_sigmoid", max_spikes=4),
                         init_gain=3.0).double()
    obs = torch.randn(10, 8, dtype=torch.float64)
    net.record = True
    fused = net(obs)
    torch.testing.assert_close(fused, net(obs, fused=False), atol=1e-12, rtol=0)
    trace, _ = net.spike_trace(obs)
    assert trace[1].max() > 1  # multi-spikes reach the next layer (dense product, not the 0/1 CSR)
    # the statistics count every spike of a count (the binary equivalent for synaptic operations)
    assert net.spike_counts[1].item() == pytest.approx(2 * float(trace[1].sum()))  # counted by both forwards


@pytest.mark.parametrize("history", ["stack", "membrane"])
def test_jit_and_onnx_equal_eager(history, tmp_path):
    actor = _actor(history, neuron={"surrogate": "fast_sigmoid", "max_spikes": 4}, init_gain=3.0)
    actor.eval()
    steps = [_obs(1, seed=s) for s in range(5)]
    eager = [actor(o).detach() for o in steps]
    jit = torch.jit.script(actor.as_jit())
    jit.reset()
    onnx_model = actor.as_onnx()
    path = str(tmp_path / "policy.onnx")
    torch.onnx.export(onnx_model, onnx_model.get_dummy_inputs(), path, input_names=onnx_model.input_names,
                      output_names=onnx_model.output_names, opset_version=18, dynamo=False)
    sess = ort.InferenceSession(path)
    state = [z.numpy() for z in onnx_model.get_dummy_inputs()[1:]]
    for o, e in zip(steps, eager):
        torch.testing.assert_close(jit(o["policy"]), e, atol=1e-5, rtol=0)
        feed = {"obs": o["policy"].numpy()}
        if history == "membrane":
            feed.update(dict(zip(["c_in", "v_in", "o_in"], state)))
        res = sess.run(None, feed)
        state = res[1:]
        torch.testing.assert_close(torch.from_numpy(res[0]), e, atol=1e-5, rtol=0)
    trace, _ = actor.network.spike_trace(actor.get_latent(steps[0]))
    assert max(float(t.max()) for t in trace[1:]) > 1


@pytest.mark.parametrize("value", [0, 2.5, True, "4"])
def test_bad_max_spikes(value):
    with pytest.raises(ValueError, match=r"max_spikes must be an integer >= 1"):
        NeuronCfg(max_spikes=value).validate()


def test_nir_refuses_multi_spikes():
    SpikingNetwork(8, 3, [16], neuron=NeuronCfg(max_spikes=2), gradient="rate")  # the rate rule takes counts
    net = SpikingNetwork(8, 3, [16], neuron=NeuronCfg(max_spikes=2))
    with pytest.raises(ValueError, match=r"NIR export needs binary spikes"):
        to_nir(net)


@pytest.mark.parametrize("max_spikes", [1, 4])
def test_direct_input_fused_equals_reference(max_spikes):
    # snn.encoder_mode 'direct': the first layer's current is W x + b each step, no input spikes
    torch.manual_seed(3)
    net = SpikingNetwork(8, 3, [16, 12], neuron=NeuronCfg(surrogate="fast_sigmoid", max_spikes=max_spikes),
                         encoder_mode="direct").double()
    obs = torch.randn(10, 8, dtype=torch.float64) * 2.0
    fused, ref = net(obs), net(obs, fused=False)
    torch.testing.assert_close(fused, ref, atol=1e-12, rtol=0)
    g = torch.autograd.grad(fused.square().sum(), list(net.parameters()))
    g_ref = torch.autograd.grad(ref.square().sum(), list(net.parameters()))
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    # the first layer's current is its affine map of the clamped input, the same every step
    first = net.layers[0].fc
    x = obs.clamp(-3.0, 3.0)
    layer1, _ = net.layers[0](x.expand(5, *x.shape), None, False)
    trace, _ = net.spike_trace(obs)
    torch.testing.assert_close(trace[1], layer1, atol=0, rtol=0)
    assert first.in_features == 8


def test_direct_input_energy_charges_the_first_layer_as_macs():
    from legged_snn.snn import energy
    net = SpikingNetwork(8, 3, [16, 12], neuron=NeuronCfg(surrogate="fast_sigmoid"), encoder_mode="direct")
    net.record = True
    with torch.no_grad():
        net(torch.randn(4, 8))
    rep = energy.report(net, [8, 16, 12, 3])
    assert rep.firing_rates["encoder"] == 0.0
    # 8 x 16 first-layer MACs, no receptive fields; SOPs come from the hidden layers' spikes only
    assert rep.snn_macs == 8 * 16
    hidden = net.spike_counts[1:].tolist()
    assert rep.sops == pytest.approx((hidden[0] * 12 + hidden[1] * 3) / 4)


@pytest.mark.parametrize("history", ["stack", "membrane"])
def test_direct_input_jit_equals_eager(history):
    actor = _actor(history, encoder_mode="direct", neuron={"surrogate": "fast_sigmoid", "max_spikes": 3})
    actor.eval()
    steps = [_obs(1, seed=s) for s in range(4)]
    eager = [actor(o).detach() for o in steps]
    jit = torch.jit.script(actor.as_jit())
    jit.reset()
    for o, e in zip(steps, eager):
        torch.testing.assert_close(jit(o["policy"]), e, atol=1e-5, rtol=0)


def test_direct_input_bad_combinations():
    with pytest.raises(ValueError, match=r"snn.encoder_mode must be one of"):
        _actor(encoder_mode="spiky")


@pytest.mark.parametrize("reset", ["popsan", "subtract", "zero"])
@pytest.mark.parametrize("kind", ["rect", "fast_sigmoid"])
@pytest.mark.parametrize("smooth", [0.0, 0.4])
def test_kernel_equals_torch_loop(reset, kind, smooth, monkeypatch):
    from legged_snn.snn import neurons
    torch.manual_seed(5)
    cfg = NeuronCfg(reset=reset, surrogate=kind, max_spikes=3)
    current = (torch.randn(5, 7, 11, dtype=torch.float64) * 1.5).requires_grad_()
    state = [torch.rand(7, 11, dtype=torch.float64).requires_grad_() for _ in range(2)]
    o0 = torch.randint(0, 4, (7, 11)).double()
    results = []
    for use in (True, False):
        monkeypatch.setattr(neurons, "USE_KERNELS", use)
        live: list[float] = []
        out, (c, v, o) = lif_scan(current, (state[0], state[1], o0), cfg, smooth, live)
        w = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view_as(out)
        g = torch.autograd.grad((out * w).sum() + v.square().sum() + c.sum(), [current, *state])
        results.append((out.detach(), o, live, g))
    (o1, s1, l1, g1), (o2, s2, l2, g2) = results
    torch.testing.assert_close(o1, o2, atol=1e-12, rtol=0)
    torch.testing.assert_close(s1, s2, atol=1e-12, rtol=0)
    assert l1 == pytest.approx(l2)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    assert o1.max() > 1 or smooth > 0


def test_count_products_equal_dense():
    from legged_snn.snn.sparse import spike_linear
    torch.manual_seed(6)
    x = torch.randint(0, 5, (5, 9, 13)).float() * (torch.rand(5, 9, 13) < 0.2)  # sparse counts 0..4
    w, b = torch.randn(6, 13, requires_grad=True), torch.randn(6, requires_grad=True)
    xs = x.clone().requires_grad_()
    out = spike_linear(xs, w, b, counts=True)
    xd = x.clone().requires_grad_()
    ref = torch.nn.functional.linear(xd, w, b)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    g = torch.randn_like(ref)
    ga = torch.autograd.grad((out * g).sum(), [xs, w, b])
    gb = torch.autograd.grad((ref * g).sum(), [xd, w, b])
    for a, c in zip(ga, gb):
        torch.testing.assert_close(a, c, atol=1e-4, rtol=1e-5)
