"""Encoder, SpikingActor contract, exports and energy accounting."""

from __future__ import annotations

import math

import nir
import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch.distributions import Normal

from legged_snn.snn import energy
from legged_snn.snn.actor import SpikingActor, check_snn_config
from legged_snn.snn.encoders import PopulationEncoder
from tests.snn_helpers import DIST, GROUPS, _actor, _obs


def test_deterministic_encoder_counts_match_closed_form():
    enc = PopulationEncoder(3, pop_size=10, timesteps=8)
    obs = torch.rand(400, 3) * 8 - 4
    spikes = enc(obs).detach()
    a = enc.stimulation(obs).detach()
    # PopSAN's regular spikes: v += A; spike when v > 0.999; v -= 0.999
    v, counts = torch.zeros_like(a), torch.zeros_like(a)
    for _ in range(8):
        v += a
        s = (v > 0.999).float()
        v -= 0.999 * s
        counts += s
    assert torch.equal(spikes.sum(0), counts)
    assert torch.equal(counts, torch.clamp(torch.ceil(8 * a / 0.999) - 1, min=0))
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    active = (counts > 0).float().view(400, 3, 10).sum(-1).mean().item()
    assert 1.0 < active < 3.5  # sigma ~0.39 leaves about 2 of 10 neurons active per dimension


def test_encoder_clamps_inputs_beyond_its_range_to_the_edge_neuron():
    enc = PopulationEncoder(2, pop_size=10, timesteps=5, mu_range=(-3.0, 3.0))
    far = torch.tensor([[7.5, -40.0]])
    counts = enc(far).detach().sum(0).view(2, 10)
    assert counts[0, -1] == 5 and counts[1, 0] == 5  # not a silent population: the outermost neuron fires fully
    assert torch.equal(enc.stimulation(far), enc.stimulation(torch.tensor([[3.0, -3.0]])))


def test_init_gain_scales_every_lif_layers_initial_synapses():
    plain, scaled = _actor(), _actor(init_gain=2.0)  # same seed
    for a, b in zip(plain.network.layers, scaled.network.layers):
        torch.testing.assert_close(b.fc.weight, 2.0 * a.fc.weight)
        torch.testing.assert_close(b.fc.bias, 2.0 * a.fc.bias)
    torch.testing.assert_close(scaled.network.decoder.fc.weight, plain.network.decoder.fc.weight)  # the readout is not


def test_readout_gain_scales_the_decoders_step_not_its_start():
    from legged_snn.snn.decoders import PopulationDecoder

    spikes = (torch.rand(5, 64, 3 * 10, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    out = {}
    for gain in (1.0, 10.0):
        torch.manual_seed(1)
        dec = PopulationDecoder(3, 10, gain=gain)
        before = dec.readout_weight().detach().clone()
        opt = torch.optim.Adam(dec.parameters(), lr=1e-3)
        dec(spikes).square().sum().backward()
        opt.step()
        out[gain] = (before, (dec.readout_weight().detach() - before).abs())
    torch.testing.assert_close(out[1.0][0], out[10.0][0])  # the same initial readout
    torch.testing.assert_close(out[1.0][1], torch.full((3, 10), 1e-3), atol=1e-6, rtol=0)  # Adam's first step: lr
    torch.testing.assert_close(out[10.0][1], torch.full((3, 10), 1e-2), atol=1e-5, rtol=0)  # gain x lr


def test_csr_encoder_path_equals_dense_spikes():
    from legged_snn.snn.sparse import CodedCsr, Csr

    for dims, form in ((6, Csr), (40, CodedCsr)):  # few inputs per sample: codes' overhead; many: grouping pays
        enc = PopulationEncoder(dims, pop_size=10, timesteps=5)
        a = enc.stimulation(torch.rand(300, dims) * 8 - 4).detach()
        dense, csr = enc.encode(a)
        assert isinstance(csr, form)
        assert dense is None and csr.rows == 5 * 300 and csr.cols == dims * 10
        hard = enc.hard_spikes(a)
        assert csr.nnz == int(hard.sum()) > 0 and torch.equal(csr.to_dense(), hard.reshape(5 * 300, dims * 10))


def _spikes_with_trains(T: int, N: int, K: int, seed: int) -> torch.Tensor:
    """(T, N, K) 0/1: half of a third of the columns fire at every step, the rest at random (rate 0.03)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(T, N, K, generator=g) < 0.03).float()
    x[:, :, : K // 3] = (torch.rand(1, N, K // 3, generator=g) < 0.5).float()
    return x


def test_coded_spike_matmul_equals_dense():
    from legged_snn.snn.sparse import CodedCsr, Csr, pattern_from_dense

    T, N, K, H = 5, 64, 50, 19
    x = _spikes_with_trains(T, N, K, 0)
    coded = pattern_from_dense(x)
    assert isinstance(coded, CodedCsr) and coded.nnz == int(x.sum())
    flat = x.reshape(T * N, K)
    assert torch.equal(coded.to_dense(), flat)
    table, bias, grad = torch.randn(K, H), torch.randn(H), torch.randn(T * N, H)
    torch.testing.assert_close(coded.matmul(table, bias), flat @ table + bias, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(coded.t_matmul(grad), flat.t() @ grad, atol=1e-4, rtol=1e-5)
    once = torch.zeros(T, N, K)  # every column spikes at most once: grouping saves nothing, plain CSR
    once[torch.randint(0, T, (N, K)), torch.arange(N)[:, None], torch.arange(K)] = (torch.rand(N, K) < 0.2).float()
    assert isinstance(pattern_from_dense(once), Csr)


def test_sparse_linear_equals_dense():
    from legged_snn.snn.sparse import spike_linear

    torch.manual_seed(4)
    for x in ((torch.rand(400, 90) < 0.1).float(), _spikes_with_trains(5, 80, 90, 1)):  # CSR, then by code
        x.requires_grad_(True)
        w = torch.randn(33, 90, requires_grad=True)
        b = torch.randn(33, requires_grad=True)
        g = torch.randn(*x.shape[:-1], 33)
        ours = torch.autograd.grad((spike_linear(x, w, b) * g).sum(), [x, w, b])
        ref = torch.autograd.grad((torch.nn.functional.linear(x, w, b) * g).sum(), [x, w, b])
        for a, r in zip(ours, ref):
            torch.testing.assert_close(a, r, atol=1e-4, rtol=1e-5)


def test_probabilistic_encoder_rate_is_stimulation():
    enc = PopulationEncoder(2, pop_size=4, timesteps=4000, mode="probabilistic")
    obs = torch.tensor([[0.3, -1.0]])
    rate = enc(obs, torch.Generator().manual_seed(0)).detach().mean(0)
    torch.testing.assert_close(rate, enc.stimulation(obs).detach(), atol=0.03, rtol=0)


def test_gradients_reach_encoder_and_every_weight():
    actor = _actor()
    actor(_obs(), stochastic_output=True)
    loss = actor.get_output_log_prob(torch.zeros(5, 3)).sum() + actor.output_mean.square().sum()
    loss.backward()
    for name, p in actor.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert actor.network.encoder.mu.grad.abs().sum() > 0 and actor.network.encoder.sigma.grad.abs().sum() > 0


@pytest.mark.parametrize("dense_above", [0.25, 0.0])  # sparse path, and the dense fallback everywhere
def test_first_layer_shortcut_equals_autograd(dense_above, monkeypatch):
    from legged_snn.snn import sparse

    monkeypatch.setattr(sparse, "DENSE_ABOVE", dense_above)
    actor = _actor()
    net, x = actor.network, actor.get_latent(_obs())
    grads = []
    for fused in (True, False):
        net.zero_grad()
        net(x, fused=fused).square().sum().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("decoder", ["membrane", "rate"])
def test_rate_regularizer_pushes_hidden_rates_down(decoder):
    actor = _actor(rate_reg=0.5, decoder=decoder)
    net, x = actor.network, actor.get_latent(_obs(64))
    net(x).sum().mul(0.0).backward()  # only the regularizer's gradient is left
    grads = [layer.fc.bias.grad for layer in net.layers]
    assert all(g is not None for g in grads)
    assert grads[0].abs().sum() > 0  # hidden layers are regularized ...
    if decoder == "rate":
        assert grads[-1].abs().sum() == 0  # ... the output population is not (it carries the action)
    else:
        assert grads[-1].abs().sum() > 0  # ... the last hidden layer too; the readout integrators do not spike
        assert net.decoder.fc.bias.grad.abs().sum() == 0
    assert net.encoder.sigma.grad.sum() > 0  # ... and the encoder's fields narrow (fewer input spikes)
    plain = _actor()
    plain.network(x).sum().mul(0.0).backward()
    assert all(layer.fc.bias.grad.abs().sum() == 0 for layer in plain.network.layers)


def test_log_prob_equals_torch_normal():
    actor = _actor()
    obs = _obs()
    actions = actor(obs, stochastic_output=True)
    mean, std = actor.output_mean, actor.output_std
    expected = Normal(mean, std).log_prob(actions).sum(-1)
    torch.testing.assert_close(actor.get_output_log_prob(actions), expected)
    assert std[0].tolist() == pytest.approx([0.8] * 3)


def test_the_network_has_its_own_name_and_old_checkpoints_still_load():
    actor = _actor()
    assert not hasattr(actor, "mlp") and all(k.startswith(("network.", "obs_normalizer.", "distribution."))
                                             for k in actor.state_dict())
    old = {k.replace("network.", "mlp.", 1): v for k, v in actor.state_dict().items()}  # before the rename
    torch.manual_seed(5)
    other = SpikingActor(_obs(), GROUPS, "actor", 3, hidden_dims=[32, 16], distribution_cfg=DIST)
    assert not torch.equal(other(_obs()), actor(_obs()))
    other.load_state_dict(old)  # strict: every key found under its new name
    assert torch.equal(other(_obs()), actor(_obs()))


def test_reset_clears_only_finished_envs():
    actor = _actor("membrane")
    assert actor.is_recurrent
    for _ in range(3):
        actor(_obs())
    c, v, o = actor.get_hidden_state()
    assert c.shape == (2, 5, 32) and v.abs().sum() > 0  # layers 32, 16 (the readout integrators restart each step)
    before = [t.clone() for t in actor.get_hidden_state()]
    actor.reset(torch.tensor([0, 1, 0, 0, 1]))
    for old, new in zip(before, actor.get_hidden_state()):
        assert torch.all(new[:, [1, 4]] == 0)
        assert torch.equal(new[:, [0, 2, 3]], old[:, [0, 2, 3]])


def test_membrane_batch_mode_equals_rollout():
    actor = _actor("membrane")
    steps = [_obs(seed=s) for s in range(4)]
    rollout = [actor(o).detach() for o in steps]
    obs = torch.stack([o for o in steps])  # [S, B, ...]
    masks = torch.ones(4, 5, dtype=torch.bool)
    hidden = actor._zero_state(5, rollout[0])
    batch = actor(obs, masks=masks, hidden_state=hidden)
    torch.testing.assert_close(batch, torch.stack(rollout), atol=1e-6, rtol=0)


@pytest.mark.parametrize("history,decoder", [("stack", "membrane"), ("membrane", "membrane"), ("stack", "rate"),
                                             ("membrane", "rate")])
def test_jit_and_onnx_equal_eager(history, decoder, tmp_path):
    # the exports carry the effective readout (rate: gain 10; membrane: a leaky mean read) and the input clamp
    kw = {"readout_gain": 10.0} if decoder == "rate" else {"decoder_leak": 0.3, "decoder_read": "mean"}
    actor = _actor(history, decoder=decoder, **kw)
    actor.eval()
    steps = [_obs(1, seed=s) for s in range(6)]
    for o in steps[::2]:
        o["policy"] *= 6.0  # beyond the encoder's range after normalization
    eager = [actor(o).detach() for o in steps]
    jit = torch.jit.script(actor.as_jit())
    jit.reset()
    out_jit = [jit(o["policy"]) for o in steps]
    onnx_model = actor.as_onnx()
    path = str(tmp_path / "policy.onnx")
    torch.onnx.export(onnx_model, onnx_model.get_dummy_inputs(), path, input_names=onnx_model.input_names,
                      output_names=onnx_model.output_names, opset_version=18, dynamo=False)
    sess = ort.InferenceSession(path)
    state = [z.numpy() for z in onnx_model.get_dummy_inputs()[1:]]
    out_onnx = []
    for o in steps:
        feed = {"obs": o["policy"].numpy()}
        if history == "membrane":
            feed.update(dict(zip(["c_in", "v_in", "o_in"], state)))
        res = sess.run(None, feed)
        state = res[1:]
        out_onnx.append(torch.from_numpy(res[0]))
    for e, j, x in zip(eager, out_jit, out_onnx):
        torch.testing.assert_close(j, e, atol=1e-5, rtol=0)
        torch.testing.assert_close(x, e, atol=1e-5, rtol=0)
    if history == "membrane":  # the state matters: a fresh start gives another action than step 6
        assert not torch.allclose(eager[-1], actor.as_jit()(steps[-1]["policy"]))


@pytest.mark.parametrize("decoder", ["membrane", "rate"])
def test_energy_report_hand_counted(decoder):
    actor = _actor(decoder=decoder)
    net = actor.network
    net.record = True
    actor(_obs(4))
    rep = energy.report(net, [7, 32, 16, 3])
    counts = net.spike_counts.tolist()
    # membrane: the last hidden layer's spikes reach 3 integrators (accumulates); rate: 30 output neurons, MACs
    fan = [32, 16, 3] if decoder == "membrane" else [32, 16, 30, 0]
    assert len(counts) == len(fan)
    assert rep.sops == pytest.approx(sum(c * f for c, f in zip(counts, fan)) / 4)
    macs = 7 * 10 * energy.ENCODER_MACS_PER_FIELD + (0 if decoder == "membrane" else 3 * 10)
    assert rep.snn_energy_pj == pytest.approx(rep.sops * 0.9 + macs * 4.6)
    lif = (32 + 16 + (0 if decoder == "membrane" else 30)) * 5
    readout = 3 * 5 if decoder == "membrane" else 0
    assert rep.neuron_updates == lif + readout
    ops = 2 * lif + 7 * 10 * 5 + readout  # LIF: 2 per neuron-step; encoder and integrator: 1
    assert rep.snn_energy_with_updates_pj == pytest.approx(rep.snn_energy_pj + ops * 0.9)
    assert rep.mlp_over_snn_with_updates < rep.mlp_over_snn
    assert rep.mlp_energy_pj == pytest.approx((7 * 32 + 32 * 16 + 16 * 3) * 4.6)
    assert 0 < rep.firing_rates["encoder"] < 0.5
    assert math.isclose(rep.mlp_over_snn, rep.mlp_energy_pj / rep.snn_energy_pj)
    # the per-layer shares sum to the totals, and each layer's outgoing SOPs are its spikes x fan-out
    layers = rep.per_layer
    assert list(layers) == net.layer_names() + ["readout"]
    for key, total in (("sops", rep.sops), ("macs", rep.snn_macs), ("update_ops", ops),
                       ("energy_pj", rep.snn_energy_pj), ("energy_with_updates_pj", rep.snn_energy_with_updates_pj)):
        assert sum(e[key] for e in layers.values()) == pytest.approx(total)
    assert layers["lif0"]["sops"] == pytest.approx(counts[1] * 16 / 4)
    assert layers["lif0"]["update_ops"] == 2 * 32 * 5


@pytest.mark.parametrize("cfg,needle", [
    ({"history": "lstm"}, "snn.history must be one of"),
    ({"timesteps": 0}, "snn.timesteps (T) must be >= 1"),
    ({"pop_in": 1}, "snn.pop_in (P) must be >= 2"),
    ({"readout_gain": 0.0}, "snn.readout_gain must be a finite number > 0"),
    ({"init_gain": -1.0}, "snn.init_gain must be a finite number > 0"),
    ({"lr_scale": 0.0}, "snn.lr_scale must be a finite number > 0"),
    ({"lr_scale": float("inf")}, "snn.lr_scale must be a finite number > 0"),
    ({"neuron": {"voltage_decay": 2.0}}, "snn.neuron.voltage_decay must be in [0, 1]"),
    ({"neuron": {"threshold": -1.0}}, "snn.neuron.threshold must be > 0"),
    ({"decoder": "population"}, "snn.decoder must be one of ['membrane', 'rate']"),
    ({"decoder_leak": 1.5}, "snn.decoder_leak must be in [0, 1]"),
    ({"decoder_leak": -0.1}, "snn.decoder_leak must be in [0, 1]"),
    ({"decoder_read": "max"}, "snn.decoder_read must be one of ['last', 'mean']"),
    ({"weight_centering": "yes"}, "snn.weight_centering must be true, false, standardize, learned_norm or sphere"),
])
def test_bad_snn_config(cfg, needle):
    with pytest.raises(ValueError) as err:
        check_snn_config(cfg)
    assert needle in str(err.value)


def test_onnx_state_names():
    actor = _actor("membrane")
    m = actor.as_onnx()
    assert m.input_names == ["obs", "c_in", "v_in", "o_in"] and len(m.get_dummy_inputs()) == 4
    assert np.all(m.get_dummy_inputs()[1].numpy() == 0)


def test_membrane_readout_hand_computed_three_steps():
    from legged_snn.snn.decoders import MembraneDecoder

    # 2 hidden neurons -> 1 integrator, W = [1, -2], b = 0.5, spikes s_1 = [1, 0], s_2 = [1, 1], s_3 = [0, 1]
    spikes = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 1.0]]])
    expected = {  # (leak, read): u_1 = 1.5; u_2 = k u_1 - 0.5; u_3 = k u_2 - 1.5 with k = 1 - leak
        (0.0, "last"): -0.5,  # 1.5, 1.0, -0.5
        (0.0, "mean"): (1.5 + 1.0 - 0.5) / 3,
        (0.5, "last"): -1.5 + 0.5 * (0.75 - 0.5),  # 1.5, 0.25, -1.375
        (0.5, "mean"): (1.5 + 0.25 - 1.375) / 3,
    }
    for (leak, read), value in expected.items():
        dec = MembraneDecoder(2, 1, 3, leak, read)
        with torch.no_grad():
            dec.fc.weight.copy_(torch.tensor([[1.0, -2.0]]))
            dec.fc.bias.fill_(0.5)
        assert dec(spikes).item() == pytest.approx(value, abs=1e-6), (leak, read)
        assert dec.step_by_step(spikes).item() == pytest.approx(value, abs=1e-6), (leak, read)


def test_membrane_readout_starts_as_a_linear_head_on_rates():
    from legged_snn.snn.decoders import MembraneDecoder

    spikes = (torch.rand(5, 64, 16, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    for leak, read in ((0.0, "last"), (0.3, "mean")):
        torch.manual_seed(4)
        dec = MembraneDecoder(16, 3, 5, leak, read)
        torch.manual_seed(4)
        head = torch.nn.Linear(16, 3)  # the same default init, before the decoder rescales it
        const = (torch.ones(5, 64, 16))
        torch.testing.assert_close(dec(const), head(const[0]), atol=1e-6, rtol=0)
        assert dec(spikes).shape == (64, 3)


def test_detach_hidden_state_keeps_the_graph_of_unfinished_envs():
    actor = _actor("membrane")
    actor(_obs())
    actor.hidden_state = tuple(t.detach().requires_grad_(True) for t in actor.hidden_state)
    leaf = actor.hidden_state[1]
    actor(_obs(seed=1))  # the state now depends on the leaf through one step
    actor.detach_hidden_state(torch.tensor([0, 1, 0, 0, 1]))
    v = actor.hidden_state[1]
    (g,) = torch.autograd.grad(v.sum(), leaf, allow_unused=True)
    per_env = g.abs().sum(dim=(0, 2))
    assert torch.all(per_env[[0, 2, 3]] > 0)  # unfinished envs still backpropagate into their old state
    assert torch.all(per_env[[1, 4]] == 0)  # finished envs are cut
    actor.detach_hidden_state()  # no dones: every env
    assert all(not t.requires_grad for t in actor.hidden_state)


@pytest.mark.parametrize("decoder,leak,mode", [("rate", 0.0, "deterministic"), ("membrane", 0.0, "deterministic"),
                                               ("membrane", 0.25, "deterministic"), ("membrane", 0.0, "direct")])
def test_nir_graph_equals_eager(decoder, leak, mode):
    from legged_snn.snn.nir_export import encoder_spikes, read_actions, simulate, to_nir

    actor = _actor(decoder=decoder, decoder_leak=leak, decoder_read="mean" if leak else "last", encoder_mode=mode)
    net = actor.network
    latent = actor.get_latent(_obs(16))
    graph = to_nir(net)
    assert graph.metadata["input"] == ("direct" if mode == "direct" else "spikes")
    out = simulate(graph, encoder_spikes(net, latent).numpy())
    with torch.no_grad():
        eager = net(latent)
    if decoder == "rate":  # the graph ends in the output population's spikes; the rate readout stays on the host
        trace, _ = net.spike_trace(latent)
        assert np.array_equal(out, trace[-1].numpy())
    else:
        assert isinstance(graph.nodes["readout"], nir.LI if leak else nir.I)
        np.testing.assert_allclose(read_actions(graph, out), eager.numpy(), atol=1e-5)
