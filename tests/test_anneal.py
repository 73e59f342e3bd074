"""Smooth-to-spiking annealing: the mixed neuron, its kernel, the schedule, and a real run that anneals."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import torch
import yaml

from legged_snn.snn.actor import check_snn_config
from legged_snn.snn.anneal import check_anneal, smoothness, unhardened
from legged_snn.snn.network import SpikingNetwork
from legged_snn.snn.neurons import NeuronCfg, lif_scan, lif_scan_reference


def _zeros(n, h):
    return tuple(torch.zeros(n, h, dtype=torch.float64) for _ in range(3))


def test_schedule_values_and_bad_schedules():
    assert [smoothness(it, (2, 6)) for it in (0, 2, 3, 5, 6, 9)] == [1.0, 1.0, 0.75, 0.25, 0.0, 0.0]
    assert [smoothness(it, (3, 3)) for it in (2, 3)] == [1.0, 0.0]
    assert smoothness(0, None) == 0.0
    for bad in ([5, 2], [-1, 3], [1], "10", [1.5, 3]):
        with pytest.raises(ValueError, match=r"snn\.anneal must be null or \[start, end\]"):
            check_anneal(bad)
    with pytest.raises(ValueError, match=r"snn\.anneal"):
        check_snn_config({"anneal": [4, 1]})


@pytest.mark.parametrize("blend,expected", [(1.0, [0.4, 0.78, 0.8287]), (0.5, [0.2, 0.92, 0.8752])])
def test_hand_computed_smooth_trajectory(blend, expected):
    # PopSAN reset, th 0.5, w 0.5: ramp(v) = clip(v, 0, 1); o = (1 - blend) H(v - th) + blend ramp(v)
    # blend 1: v = 0.4; 0.75 * 0.4 * 0.6 + 0.6 = 0.78; 0.75 * 0.78 * 0.22 + 0.7 = 0.8287
    # blend 0.5: o1 = 0.2; v2 = 0.75 * 0.4 * 0.8 + 0.6 = 0.84, o2 = 0.5 + 0.42; v3 = 0.75 * 0.84 * 0.08 + 0.7 = 0.7504
    current = torch.full((3, 1, 1), 0.4, dtype=torch.float64)
    for scan in (lif_scan, lif_scan_reference):
        out, _ = scan(current, _zeros(1, 1), NeuronCfg(reset="popsan"), blend)
        assert out.flatten().tolist() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("reset", ["zero", "subtract", "popsan"])
@pytest.mark.parametrize("blend", [0.3, 1.0])
@pytest.mark.parametrize("kind", ["rect", "fast_sigmoid"])
def test_kernel_equals_reference_when_smooth(reset, blend, kind):
    torch.manual_seed(3)
    cfg = NeuronCfg(reset=reset, surrogate=kind)
    current = torch.randn(5, 8, 6, dtype=torch.float64, requires_grad=True)
    v0 = torch.randn(8, 6, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(8, 6, dtype=torch.float64, requires_grad=True)
    o0 = torch.rand(8, 6, dtype=torch.float64)
    weights = torch.randn(5, 8, 6, dtype=torch.float64)
    results = []
    for scan in (lif_scan, lif_scan_reference):
        s, (c, v, _) = scan(current, (c0, v0, o0), cfg, blend)
        loss = (s * weights).sum() + c.sum() + 2 * v.sum()
        results.append((s.detach(), *torch.autograd.grad(loss, [current, c0, v0])))
    assert ((results[0][0] > 0) & (results[0][0] < 1)).any()  # the smooth part is there
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def _net(blend: float) -> SpikingNetwork:
    torch.manual_seed(0)
    net = SpikingNetwork(12, 3, [64, 32], neuron=NeuronCfg(reset="popsan")).double()
    net.smooth = blend
    return net


def test_nearly_spiking_mix_equals_the_spiking_network():
    obs = torch.randn(64, 12, dtype=torch.float64)
    spiking, mixed = _net(0.0)(obs), _net(1e-9)(obs)  # sparse CSR path vs the dense mixed path
    torch.testing.assert_close(mixed, spiking, atol=1e-7, rtol=0)


def test_mixed_network_equals_its_plain_autograd_reference():
    net, obs = _net(0.5), torch.randn(32, 12, dtype=torch.float64)
    results = []
    for fused in (True, False):
        net.zero_grad()
        mean = net(obs, None, fused)
        mean.square().sum().backward()
        results.append((mean.detach(), *(p.grad.clone() for p in net.parameters())))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@pytest.mark.parametrize("blend", [0.5, 1.0])
def test_gradients_reach_every_parameter_when_smooth(blend):
    net = _net(blend)
    net(torch.randn(64, 12, dtype=torch.float64)).square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def _shift(net: SpikingNetwork, obs: torch.Tensor, scale: float) -> float:
    base = net(obs).detach()
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        moved = net(obs)
        for p in net.parameters():  # undo
            p.sub_(scale * torch.randn(p.shape, generator=gen.manual_seed(5), dtype=p.dtype))
    return float((moved - base).square().mean().sqrt())


def test_smooth_mean_moves_with_the_step_spiking_mean_jumps():
    """The point of annealing: at lambda 1 the mean moves in proportion to a weight step (100x step, ~100x move);
    spiking, small steps flip spikes and move it far more than their size."""
    obs = torch.randn(2048, 12, dtype=torch.float64)
    smooth = _net(1.0)
    ratio_smooth = _shift(smooth, obs, 1e-3) / _shift(smooth, obs, 1e-5)
    spiking = _net(0.0)
    ratio_spiking = _shift(spiking, obs, 1e-3) / _shift(spiking, obs, 1e-5)
    assert 70 < ratio_smooth < 130, ratio_smooth
    assert ratio_spiking < 30, ratio_spiking


# ------------------------------------------------------------------------------------------- a real run
def _run(root, *args):
    return subprocess.run([sys.executable, os.path.join(root, "train.py"), *args], capture_output=True, text=True,
                          cwd=root, timeout=600)


@pytest.fixture(scope="module")
def annealed(tmp_path_factory, root):
    logs = str(tmp_path_factory.mktemp("anneal_logs"))
    r = _run(root, "--task", "a1_flat", "--num_envs", "8", "--max_iterations", "4", "--anneal", "1", "3",
             "--headless", "--log_root", logs, "--lr_schedule", "adaptive",
             "--cfg", "algorithm.spike_learning_epochs=1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "warning" not in r.stderr  # its last iteration ran pure spikes (anneal.unhardened)
    return logs, r.stdout


def test_run_anneals_from_smooth_to_spikes(annealed):
    logs, out = annealed
    smooth = [float(x) for x in re.findall(r"smooth=([0-9.e+-]+)", out)]
    assert smooth == [1.0, 1.0, 0.5, 0.0], out[-2000:]
    assert "anneal: spikes come in from it 2; learning rate held" in out
    assert "pure spikes from it 3: PPO epochs 5 -> 1" in out  # algorithm.spike_learning_epochs
    run = os.path.join(logs, "a1_flat", os.listdir(os.path.join(logs, "a1_flat"))[0])
    with open(os.path.join(run, "params", "train.yaml")) as f:
        policy = yaml.safe_load(f)["policy"]
    assert policy["actor"] == "snn" and policy["snn"]["anneal"] == [1, 3]


def test_resume_continues_the_schedule(annealed, root):
    logs, _ = annealed
    r = _run(root, "--task", "a1_flat", "--num_envs", "8", "--max_iterations", "1", "--resume", "--headless",
             "--log_root", logs)
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.findall(r"smooth=([0-9.e+-]+)", r.stdout) == ["0"], r.stdout[-1500:]
    # the resumed run's flags leave algorithm.spike_learning_epochs at its default, 2 (5 while smooth)
    assert "pure spikes from it 4: PPO epochs 5 -> 2" in r.stdout, r.stdout[-1500:]


def test_play_warns_on_a_checkpoint_from_before_the_spikes(annealed, root):
    """model_0 was trained smooth (anneal 1..3): play says its spiking forward is untrained; the last one is not."""
    logs, _ = annealed
    first = sorted(os.listdir(os.path.join(logs, "a1_flat")))[0]  # the fixture's run, not a resume's
    play = [sys.executable, os.path.join(root, "play.py"), "--task", "a1_flat", "--log_root", logs, "--export_only",
            "--load_run", first]
    early = subprocess.run([*play, "--checkpoint", "0"], capture_output=True, text=True, cwd=root, timeout=300)
    assert early.returncode == 0, early.stderr[-2000:]
    assert "model_0.pt: the spiking actor's forward is smooth up to iteration 1" in early.stderr, early.stderr
    assert "train 4 iterations or more" in early.stderr
    late = subprocess.run(play, capture_output=True, text=True, cwd=root, timeout=300)
    assert late.returncode == 0 and "warning" not in late.stderr, late.stderr[-2000:]


@pytest.mark.parametrize("args,needle", [
    (["--anneal", "5", "2"], "--anneal START END needs START <= END"),
    (["--actor", "mlp", "--anneal", "1", "2"], "--anneal hardens a spiking actor"),
    (["--anneal", "-1", "2"], "must be >= 0"),
    (["--anneal", "3"], "expected 2 arguments"),
    (["--cfg", "algorithm.spike_learning_epochs=0"], "algorithm.spike_learning_epochs must be >= 1"),
])
def test_bad_anneal_is_one_line(root, tmp_path, args, needle):
    r = _run(root, "--task", "a1_flat", "--num_envs", "8", "--max_iterations", "1", "--headless",
             "--log_root", str(tmp_path), *args)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not os.listdir(tmp_path)


def test_unhardened_names_the_iteration_to_train_to():
    assert unhardened(None, 5) is None
    assert unhardened((200, 320), 321) is None  # model_320 was trained on pure spikes
    for it in (1, 200, 320):
        msg = unhardened((200, 320), it)
        assert f"trained only to iteration {it}" in msg and "train 321 iterations or more" in msg
