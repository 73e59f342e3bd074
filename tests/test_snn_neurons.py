"""LIF core: hand-computed trajectory, surrogate, fused scan == snntorch == reference, layer-major == time-major."""

from __future__ import annotations

import pytest
import snntorch as snn
import torch
from snntorch import surrogate

from legged_snn.snn.neurons import (
    LIFLayer,
    NeuronCfg,
    fast_sigmoid_spike,
    lif_scan,
    lif_scan_reference,
    rect_spike,
    rect_surrogate,
    smooth_output,
)


def _zeros(n, h, dtype=torch.float64):
    return tuple(torch.zeros(n, h, dtype=dtype) for _ in range(3))


def test_hand_computed_three_steps():
    # a = 0.5, b = 0.75, th = 0.5, zero reset; input currents 0.4, 0.4, 0.4
    cfg = NeuronCfg(reset="zero")
    current = torch.full((3, 1, 1), 0.4, dtype=torch.float64)
    spikes, (c, v, o) = lif_scan(current, _zeros(1, 1), cfg)
    # t1: c = 0.4, v = 0.4 -> no spike; t2: c = 0.6, v = 0.3 + 0.6 = 0.9 -> spike
    # t3: c = 0.7, v = (0.675 + 0.7) * (1 - 1) = 0 -> no spike
    assert spikes.flatten().tolist() == [0.0, 1.0, 0.0]
    assert c.item() == pytest.approx(0.7) and v.item() == pytest.approx(0.0)
    popsan = NeuronCfg(reset="popsan")
    spikes, (c, v, o) = lif_scan(current, _zeros(1, 1), popsan)
    # PopSAN keeps the new current after a spike: t3 v = 0.75 * 0.9 * 0 + 0.7 = 0.7 -> spike
    assert spikes.flatten().tolist() == [0.0, 1.0, 1.0] and v.item() == pytest.approx(0.7)
    sub = NeuronCfg(reset="subtract")
    spikes, (c, v, o) = lif_scan(current, _zeros(1, 1), sub)
    # t3: v = 0.675 + 0.7 - 0.5 = 0.875 -> spike
    assert spikes.flatten().tolist() == [0.0, 1.0, 1.0] and v.item() == pytest.approx(0.875)


def test_surrogate_is_step_forward_and_window_backward():
    x = torch.tensor([-0.7, -0.49, -0.1, 0.0, 0.2, 0.49, 0.51], requires_grad=True)
    y = rect_spike(x, 0.5)
    assert y.tolist() == [0, 0, 0, 0, 1, 1, 1]
    y.sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 1, 0]  # 1 / (2 w) = 1 inside |x| < w = 0.5
    x.grad = None
    rect_spike(x, 0.25).sum().backward()
    assert x.grad.tolist() == [0, 0, 2, 2, 2, 0, 0]


def test_fast_sigmoid_surrogate_is_step_forward_and_rational_backward():
    x = torch.tensor([-3.0, -0.5, 0.0, 0.25, 3.0], dtype=torch.float64, requires_grad=True)
    y = fast_sigmoid_spike(x, 0.5)
    assert y.tolist() == [0, 0, 0, 1, 1]
    y.sum().backward()
    # 1 / (2 w) / (1 + |x| / w)^2 at w = 0.5: 1 / (1 + 2 |x|)^2
    assert x.grad.tolist() == pytest.approx([1 / 49, 1 / 4, 1.0, 1 / 2.25, 1 / 49], abs=1e-15)
    x.grad = None
    fast_sigmoid_spike(x, 0.25).sum().backward()  # 2 / (1 + 4 |x|)^2
    assert x.grad.tolist() == pytest.approx([2 / 169, 2 / 9, 2.0, 0.5, 2 / 169], abs=1e-15)
    # its integral is the smooth output: 1/2 at the threshold, the surrogate as its slope, bounded by (0, 1)
    for v0 in (0.5, 0.2, 1.3):
        v = torch.tensor([v0 - 1e-7, v0, v0 + 1e-7], dtype=torch.float64)
        out = smooth_output(v, 0.5, 0.5, kind=1)
        slope = (out[2] - out[0]).item() / 2e-7
        assert slope == pytest.approx(1 / (1 + 2 * abs(v0 - 0.5)) ** 2, rel=1e-6)
    assert smooth_output(torch.tensor([0.5, -1e6, 1e6]), 0.5, 0.5, kind=1).tolist() == pytest.approx([0.5, 0, 1],
                                                                                                     abs=1e-6)


@pytest.mark.parametrize("reset,kind", [("zero", "rect"), ("subtract", "rect"), ("zero", "fast_sigmoid"),
                                        ("subtract", "fast_sigmoid")])
def test_fused_scan_equals_snntorch_synaptic(reset, kind):
    torch.manual_seed(0)
    cfg = NeuronCfg(reset=reset, surrogate=kind)
    current = torch.randn(6, 9, 7, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(6, 9, 7, dtype=torch.float64)
    ours, _ = lif_scan(current, _zeros(9, 7), cfg)
    g_ours, = torch.autograd.grad((ours * grad).sum(), current)
    lif = snn.Synaptic(alpha=cfg.current_decay, beta=cfg.voltage_decay, threshold=cfg.threshold,
                       reset_mechanism=reset, spike_grad=rect_surrogate(cfg.surrogate_width) if kind == "rect"
                       else surrogate.fast_sigmoid(slope=2.0))  # ours at w = 0.5
    syn = mem = torch.zeros(9, 7, dtype=torch.float64)
    out = []
    for t in range(6):
        spk, syn, mem = lif(current[t], syn, mem)
        out.append(spk)
    ref = torch.stack(out)
    g_ref, = torch.autograd.grad((ref * grad).sum(), current)
    assert ours.sum() > 0 and torch.equal(ours, ref)
    # snntorch's fast_sigmoid surrogate returns float32 spikes, so its gradient carries float32 rounding
    torch.testing.assert_close(g_ours, g_ref, atol=1e-12 if kind == "rect" else 1e-6, rtol=0)


@pytest.mark.parametrize("reset", ["zero", "subtract", "popsan"])
@pytest.mark.parametrize("kind", ["rect", "fast_sigmoid"])
def test_fused_scan_equals_autograd_reference_with_state(reset, kind):
    torch.manual_seed(1)
    cfg = NeuronCfg(reset=reset, surrogate=kind)
    current = torch.randn(5, 4, 6, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    v0 = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    o0 = (v0 > cfg.threshold).double().detach()
    grads = []
    for scan in (lif_scan, lif_scan_reference):
        s, (c, v, _) = scan(current, (c0, v0, o0), cfg)
        loss = (s * torch.arange(1.0, 6.0).view(5, 1, 1)).sum() + 2 * c.sum() + 3 * v.sum()
        grads.append(torch.autograd.grad(loss, [current, c0, v0]))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_layer_major_equals_time_major():
    torch.manual_seed(2)
    cfg = NeuronCfg(reset="zero")
    layers = [LIFLayer(20, 16, cfg), LIFLayer(16, 8, cfg)]
    x = (torch.rand(5, 3, 20) < 0.3).float()
    # layer-major: all T of layer 1, then all T of layer 2
    y = x
    for layer in layers:
        y, _ = layer(y)
    # time-major (PopSAN's loop): for each t, through every layer
    states = [layer.zero_state(3) for layer in layers]
    out = []
    for t in range(5):
        h = x[t]
        for i, layer in enumerate(layers):
            c, v, o = states[i]
            c = cfg.current_decay * c + layer.fc(h)
            v = (cfg.voltage_decay * v + c) * (1 - o)
            o = (v > cfg.threshold).float()
            states[i] = (c, v, o)
            h = o
        out.append(h)
    torch.testing.assert_close(y, torch.stack(out), atol=1e-6, rtol=0)
    assert y.sum() > 0


@pytest.mark.parametrize("field,value,needle", [
    ("current_decay", 1.5, "current_decay must be in [0, 1]"),
    ("voltage_decay", -0.1, "voltage_decay must be in [0, 1]"),
    ("threshold", 0.0, "threshold must be > 0"),
    ("reset", "bounce", "reset must be one of"),
    ("surrogate", "atan", "surrogate must be one of"),
])
def test_invalid_neuron_constants(field, value, needle):
    with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        NeuronCfg(**{field: value}).validate()


@pytest.mark.parametrize("kind", ["rect", "fast_sigmoid"])
def test_inference_scan_equals_training_scan(kind):
    # under no_grad the kernel skips BPTT's window: the spikes and the state must not change
    torch.manual_seed(4)
    cfg = NeuronCfg(reset="popsan", surrogate=kind)
    current = torch.randn(5, 16, 9, requires_grad=True)
    trained, state = lif_scan(current, _zeros(16, 9, torch.float32), cfg)
    with torch.no_grad():
        inferred, state_nograd = lif_scan(current, _zeros(16, 9, torch.float32), cfg)
    assert trained.sum() > 0 and torch.equal(trained, inferred)
    for a, b in zip(state, state_nograd):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kind", ["rect", "fast_sigmoid"])
def test_torch_loop_equals_kernel(kind, monkeypatch):
    # the torch loop (other devices) against the numba kernel, forward and BPTT, in float32
    from legged_snn.snn import neurons
    torch.manual_seed(5)
    cfg = NeuronCfg(reset="popsan", surrogate=kind)
    current = torch.randn(5, 16, 9, requires_grad=True)
    weights = torch.randn(5, 16, 9)
    results = []
    for use in (True, False):
        monkeypatch.setattr(neurons, "USE_KERNELS", use)
        s, _ = lif_scan(current, _zeros(16, 9, torch.float32), cfg)
        results.append((s.detach(), *torch.autograd.grad((s * weights).sum(), current)))
    assert torch.equal(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-5, rtol=1e-5)
