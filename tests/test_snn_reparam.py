"""The spiking network's reparametrizations: ``snn.lr_scale`` (step_scale.py) and ``snn.weight_centering``
(centering.py) change how Adam's steps land, not the function or the exports."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from legged_snn.snn.actor import SpikingActor
from tests.snn_helpers import DIST, GROUPS, _actor, _obs


def test_lr_scale_keeps_the_function_and_scales_the_step(tmp_path):
    plain, scaled = _actor(), _actor(lr_scale=0.1)  # same seed, same values
    x = plain.get_latent(_obs(64))
    with torch.no_grad():
        torch.testing.assert_close(scaled.network(x), plain.network(x), atol=1e-5, rtol=0)
    steps = []
    for actor in (plain, scaled):
        opt = torch.optim.Adam(actor.network.parameters(), lr=1e-3)
        w0 = actor.network.layers[0].fc.weight.detach().clone()
        actor.network(x).square().mean().backward()
        opt.step()
        steps.append((actor.network.layers[0].fc.weight.detach() - w0).abs().max().item())
    assert steps[0] == pytest.approx(1e-3, rel=0.01) and steps[1] == pytest.approx(1e-4, rel=0.01)
    scaled.eval()
    jit = torch.jit.script(scaled.as_jit())  # exports carry the effective weights
    obs = _obs(3, seed=7)
    torch.testing.assert_close(jit(obs["policy"]), scaled(obs).detach(), atol=1e-5, rtol=0)
    path = tmp_path / "a.pt"
    torch.save(scaled.state_dict(), path)
    again = _actor(lr_scale=0.1)
    again.load_state_dict(torch.load(path, weights_only=True))
    torch.testing.assert_close(again(obs), scaled(obs))


def test_weight_centering_keeps_every_neurons_synapses_zero_sum(tmp_path):
    actor = _actor(weight_centering=True, lr_scale=0.1)
    x = actor.get_latent(_obs(64))
    opt = torch.optim.Adam(actor.network.parameters(), lr=1e-2)
    before = [layer.fc.weight.detach().clone() for layer in actor.network.layers]
    for step in range(3):  # Adam steps on a loss that pushes every neuron's current one way
        w_prev = actor.network.layers[0].fc.weight.detach().clone()
        opt.zero_grad()
        actor.network(x).sum().backward()
        opt.step()
        if step == 0:  # lr_scale still scales the step: at most 2 x 0.1 x lr per weight (the centering's share)
            assert (actor.network.layers[0].fc.weight.detach() - w_prev).abs().max() <= 2 * 0.1 * 1e-2 + 1e-7
    for layer, w0 in zip(actor.network.layers, before):
        w = layer.fc.weight.detach()
        assert w.sum(dim=1).abs().max() < 1e-5  # zero-sum rows, before and after the steps
        assert not torch.equal(w, w0)  # and they moved
    plain = _actor(lr_scale=0.1)  # same seed: the uncentered twin's rows do not sum to zero
    assert plain.network.layers[0].fc.weight.sum(dim=1).abs().max() > 1e-3
    jit = torch.jit.script(actor.as_jit())  # exports carry the effective (centered) weights
    obs = _obs(3, seed=7)
    torch.testing.assert_close(jit(obs["policy"]), actor(obs).detach(), atol=1e-5, rtol=0)
    path = tmp_path / "c.pt"
    torch.save(actor.state_dict(), path)
    again = _actor(weight_centering=True, lr_scale=0.1)
    again.load_state_dict(torch.load(path, weights_only=True))
    torch.testing.assert_close(again(obs), actor(obs))


def test_standardized_weights_keep_zero_sum_rows_of_their_initial_norm(tmp_path):
    actor = _actor(weight_centering="standardize", lr_scale=0.1, bias_lr_scale=0.3)
    x = actor.get_latent(_obs(64))
    norms = [layer.fc.weight.detach().norm(dim=1) for layer in actor.network.layers]
    opt = torch.optim.Adam(actor.network.parameters(), lr=1.0)  # big steps (x lr_scale 0.1) that grow free rows
    before = [layer.fc.weight.detach().clone() for layer in actor.network.layers]
    for _ in range(5):
        opt.zero_grad()
        actor.network(x).sum().backward()
        opt.step()
    for layer, n0, w0 in zip(actor.network.layers, norms, before):
        w = layer.fc.weight.detach()
        assert w.sum(dim=1).abs().max() < 1e-5
        torch.testing.assert_close(w.norm(dim=1), n0, atol=1e-5, rtol=1e-5)
        assert (w - w0).abs().max() > 1e-3  # the rows turned
    centred = _actor(weight_centering=True)  # the same steps grow merely centred rows
    opt = torch.optim.Adam(centred.network.parameters(), lr=1e-1)
    n0 = centred.network.layers[0].fc.weight.detach().norm(dim=1)
    for _ in range(5):
        opt.zero_grad()
        centred.network(x).sum().backward()
        opt.step()
    assert (centred.network.layers[0].fc.weight.detach().norm(dim=1) - n0).abs().max() > 1e-2
    obs = _obs(3, seed=7)
    jit = torch.jit.script(actor.as_jit())
    torch.testing.assert_close(jit(obs["policy"]), actor(obs).detach(), atol=1e-5, rtol=0)
    path = tmp_path / "s.pt"
    state = actor.state_dict()
    assert any(k.endswith("weight.0.norms") for k in state)  # the held norms travel with the checkpoint
    torch.save(state, path)
    torch.manual_seed(123)  # a twin with other initial weights and norms
    again = SpikingActor(_obs(), GROUPS, "actor", 3, hidden_dims=[32, 16], distribution_cfg=DIST,
                         weight_centering="standardize", lr_scale=0.1, bias_lr_scale=0.3)
    assert not torch.allclose(again.network.layers[0].fc.weight.norm(dim=1), norms[0])
    again.load_state_dict(torch.load(path, weights_only=True))
    torch.testing.assert_close(again(obs), actor(obs))


def test_learned_norms_keep_zero_sum_rows_and_grow_at_most_exp_k_lr_per_step(tmp_path):
    k, lr = 0.1, 0.05
    actor = _actor(weight_centering="learned_norm", lr_scale=1.0, bias_lr_scale=0.1, norm_lr_scale=k)
    x = actor.get_latent(_obs(64))
    n0 = [layer.fc.weight.detach().norm(dim=1) for layer in actor.network.layers]
    for layer in actor.network.layers:  # the rule's parameter is stepped by Adam itself, not scaled again
        assert not parametrize.is_parametrized(layer.fc.parametrizations.weight[0], "log_norm")
    opt = torch.optim.Adam(actor.network.parameters(), lr=lr)
    for _ in range(5):
        opt.zero_grad()
        actor.network(x).square().mean().backward()
        opt.step()
    grew = False
    for layer, n in zip(actor.network.layers, n0):
        w = layer.fc.weight.detach()
        assert w.sum(dim=1).abs().max() < 1e-5
        ratio = (w.norm(dim=1) / n).log().abs()
        assert ratio.max() <= 5 * k * lr * 1.05  # Adam moves log_norm by <= ~lr per step
        grew = grew or ratio.max() > 0.5 * k * lr
    assert grew  # the norms do move (with "standardize" they cannot)
    obs = _obs(3, seed=7)
    jit = torch.jit.script(actor.as_jit())
    torch.testing.assert_close(jit(obs["policy"]), actor(obs).detach(), atol=1e-5, rtol=0)
    state = actor.state_dict()
    assert any(k_.endswith("weight.0.log_norm") for k_ in state)
    torch.save(state, tmp_path / "s.pt")
    torch.manual_seed(123)
    again = SpikingActor(_obs(), GROUPS, "actor", 3, hidden_dims=[32, 16], distribution_cfg=DIST,
                         weight_centering="learned_norm", lr_scale=1.0, bias_lr_scale=0.1, norm_lr_scale=k)
    again.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    torch.testing.assert_close(again(obs), actor(obs))


def _angles(actor, x, steps: int, lr: float) -> list[float]:
    """Mean angle (rad) layer 0's effective rows turn per Adam step on them alone (with the network's post-step
    hook), the loss a fresh random projection of the output each step (a stationary gradient, as PPO's noisy one)."""
    opt = torch.optim.Adam([actor.network.layers[0].fc.parametrizations.weight.original], lr=lr)
    opt.register_step_post_hook(actor.network.after_step)
    gen = torch.Generator().manual_seed(5)
    out = []
    for _ in range(steps):
        w0 = actor.network.layers[0].fc.weight.detach().clone()
        opt.zero_grad()
        y = actor.network(x)
        (y * torch.randn(y.shape, generator=gen)).sum().backward()
        opt.step()
        w = actor.network.layers[0].fc.weight.detach()
        out.append(torch.nn.functional.cosine_similarity(w, w0, dim=1).clamp(-1, 1).acos().mean().item())
    return out


def test_sphere_holds_the_stored_rows_so_the_angle_per_step_does_not_shrink():
    x = _actor().get_latent(_obs(64))
    held, sphere = _actor(weight_centering="standardize"), _actor(weight_centering="sphere")  # same seed
    a_held, a_sphere = _angles(held, x, 40, 0.02), _angles(sphere, x, 40, 0.02)
    assert a_sphere[0] == pytest.approx(a_held[0], rel=1e-4)  # the hold acts after a step, not on it
    stored = held.network.layers[0].fc.parametrizations.weight.original.detach()
    grown = ((stored - stored.mean(1, keepdim=True)).norm(dim=1) / held.network.layers[0].fc.parametrizations.weight[0]
             .norms.squeeze(1)).mean()
    assert grown > 1.5  # stored rows grow under "standardize", and each step turns them by less
    assert sum(a_sphere[-5:]) > 1.3 * sum(a_held[-5:])  # held at their norms, by more (same seed, same gradients)
    for layer in sphere.network.layers:
        w, rule = layer.fc.weight.detach(), layer.fc.parametrizations.weight[0]
        stored = layer.fc.parametrizations.weight.original.detach()
        torch.testing.assert_close((stored - stored.mean(1, keepdim=True)).norm(dim=1, keepdim=True), rule.norms)
        torch.testing.assert_close(w.norm(dim=1, keepdim=True), rule.norms)
        assert w.sum(dim=1).abs().max() < 1e-5


@pytest.mark.parametrize("lr_scale", [1.0, 0.1])  # 0.1: the stored rows are g x a leaf, and Adam steps the leaf
def test_holding_the_stored_rows_keeps_the_function_and_rescales_adams_moments(lr_scale):
    actor = _actor(weight_centering="sphere", lr_scale=lr_scale)
    x = actor.get_latent(_obs(64))
    net = actor.network
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(6):  # no hook: the stored rows grow
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    rows = net.layers[0].fc.parametrizations.weight
    stored = rows.parametrizations.original.original if lr_scale != 1 else rows.original  # what Adam steps
    grown = stored.detach().norm(dim=1, keepdim=True)
    m, v = opt.state[stored]["exp_avg"].clone(), opt.state[stored]["exp_avg_sq"].clone()
    with torch.no_grad():
        before = net(x)
    net.after_step(opt)
    with torch.no_grad():
        torch.testing.assert_close(net(x), before, atol=1e-5, rtol=1e-5)
    r = stored.detach().norm(dim=1, keepdim=True) / grown
    assert (r - 1).abs().max() > 0.01  # they were pulled back (Adam's steps grow most rows, shrink a few)
    held = rows.original.detach()
    torch.testing.assert_close((held - held.mean(1, keepdim=True)).norm(dim=1, keepdim=True), rows[0].norms)
    torch.testing.assert_close(opt.state[stored]["exp_avg"], m / r)
    torch.testing.assert_close(opt.state[stored]["exp_avg_sq"], v / r.square())


def test_spike_step_scale_shrinks_the_angle_per_step_on_spikes_only():
    x = _actor().get_latent(_obs(64))
    full, small = _actor(weight_centering="sphere"), _actor(weight_centering="sphere", spike_step_scale=0.25)
    a_full, a_small = _angles(full, x, 2, 0.01), _angles(small, x, 2, 0.01)  # spikes (lambda 0); same seed
    assert a_small[0] == pytest.approx(a_full[0], rel=1e-4)  # the radius is applied after a step
    assert a_small[1] == pytest.approx(0.25 * a_full[1], rel=0.05)  # then each step turns the rows by a quarter
    for layer in small.network.layers:
        stored = layer.fc.parametrizations.weight.original.detach()
        torch.testing.assert_close((stored - stored.mean(1, keepdim=True)).norm(dim=1, keepdim=True),
                                   4 * layer.fc.parametrizations.weight[0].norms)
    smooth = _actor(weight_centering="sphere", spike_step_scale=0.25)
    smooth.network.smooth = 1.0  # the smooth forward keeps the full step
    a_smooth = _angles(smooth, x, 2, 0.01)
    stored = smooth.network.layers[0].fc.parametrizations.weight.original.detach()
    torch.testing.assert_close((stored - stored.mean(1, keepdim=True)).norm(dim=1, keepdim=True),
                               smooth.network.layers[0].fc.parametrizations.weight[0].norms)
    assert a_smooth[1] > 2 * a_small[1]


def test_bias_lr_scale_steps_the_lif_biases_only():
    actor = _actor(lr_scale=1.0, bias_lr_scale=0.1)
    x = actor.get_latent(_obs(64))
    net = actor.network
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    tensors = [layer.fc.bias for layer in net.layers] + [net.layers[0].fc.weight, net.decoder.fc.bias]
    before = [t.detach().clone() for t in tensors]
    net(x).square().mean().backward()
    opt.step()
    after = [layer.fc.bias for layer in net.layers] + [net.layers[0].fc.weight, net.decoder.fc.bias]
    steps = [(a.detach() - b).abs().max().item() for a, b in zip(after, before)]
    k = len(net.layers)
    assert all(s == pytest.approx(1e-3, rel=0.02) for s in steps[:k])  # Adam's first step: 0.1 x lr
    assert steps[k] == pytest.approx(1e-2, rel=0.02) and steps[k + 1] == pytest.approx(1e-2, rel=0.02)


@pytest.mark.parametrize("key, value, needle", [
    ("weight_centering", "yes", "snn.weight_centering must be true, false, standardize, learned_norm or sphere"),
    ("weight_centering", 1, "snn.weight_centering must be true, false, standardize, learned_norm or sphere"),
    ("norm_lr_scale", 0, "snn.norm_lr_scale must be a finite number > 0"),
    ("bias_lr_scale", 0, "snn.bias_lr_scale must be a finite number > 0 or null"),
    ("bias_lr_scale", "0.1", "snn.bias_lr_scale must be a finite number > 0 or null"),
    ("bias_lr_scale", float("inf"), "snn.bias_lr_scale must be a finite number > 0 or null"),
    ("spike_step_scale", 0, "snn.spike_step_scale must be a number in (0, 1]"),
    ("spike_step_scale", 1.5, "snn.spike_step_scale must be a number in (0, 1]"),
    ("spike_step_scale", 0.2, "snn.spike_step_scale=0.2 needs snn.weight_centering=sphere"),
])
def test_bad_reparametrization_values_are_one_line(key, value, needle):
    with pytest.raises(ValueError) as exc:
        _actor(**{key: value})
    assert needle in str(exc.value) and "\n" not in str(exc.value)
