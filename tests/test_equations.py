"""legged_snn/snn/equations.py: each equation by hand, and the numba kernels (the fast copies) against it."""

from __future__ import annotations

import pytest
import torch

from legged_snn.snn.encoders import PopulationEncoder
from legged_snn.snn.equations import encoder_counts, encoder_spikes, lif_step, receptive_fields


@pytest.mark.parametrize("reset, expected_v", [
    # current 0.4 then 0.3, 0.3; alpha 0.5, beta 0.75, th 0.5; spikes o = v > th
    # c: 0.4, 0.5, 0.55
    (0, [0.4, 0.8, 0.0]),  # zero: v2 = 0.75 * 0.4 + 0.5 = 0.8 (fires); v3 = (0.6 + 0.55) * 0 = 0
    (1, [0.4, 0.8, 0.65]),  # subtract: v3 = 0.75 * 0.8 + 0.55 - 0.5 = 0.65
    (2, [0.4, 0.8, 0.55]),  # popsan: v3 = 0.75 * 0.8 * 0 + 0.55
])
def test_lif_step_hand_computed(reset, expected_v):
    c = v = o = torch.zeros(1, 1, dtype=torch.float64)
    vs = []
    for current in (0.4, 0.3, 0.3):
        c, v = lif_step(torch.full((1, 1), current, dtype=torch.float64), c, v, o, 0.5, 0.75, 0.5, reset)
        o = (v > 0.5).to(v.dtype)
        vs.append(float(v))
    assert vs == pytest.approx(expected_v, abs=1e-12)


def test_lif_step_counts_reset_like_one_spike():
    c, v, o = torch.zeros(1, 1), torch.tensor([[2.0]]), torch.tensor([[3.0]])  # a count of 3 spikes
    _, v_new = lif_step(torch.zeros(1, 1), c, v, o, 0.5, 0.75, 0.5, reset=2, max_spikes=3)
    assert float(v_new) == 0.0  # popsan gate clamps the count to 1
    _, v_sub = lif_step(torch.zeros(1, 1), c, v, o, 0.5, 0.75, 0.5, reset=1, max_spikes=3)
    assert float(v_sub) == pytest.approx(0.75 * 2.0 - 0.5 * 3.0)  # subtract removes one threshold per spike


def test_encoder_by_hand_and_against_the_kernels():
    x = torch.tensor([[0.0, 1.0]])
    mu = torch.tensor([[0.0, 1.0], [0.0, 2.0]])
    sigma = torch.tensor([[1.0, 1.0], [0.5, 0.5]])
    a = receptive_fields(x, mu, sigma)
    e = torch.exp(torch.tensor(-0.5))
    assert a[0].tolist() == pytest.approx([1.0, float(e), float(e ** 4), float(e ** 4)])
    steps = torch.arange(1, 6, dtype=torch.float32)
    counts = encoder_counts(torch.tensor([[0.45]]), steps, 0.999)  # ceil(t 0.45 / 0.999) - 1
    assert counts.flatten().tolist() == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert encoder_spikes(torch.tensor([[0.45]]), steps, 0.999).flatten().tolist() == [0.0, 0.0, 1.0, 0.0, 1.0]
    # the numba paths (receptive fields, sparse spike trains) equal the torch functions
    enc = PopulationEncoder(6, pop_size=10, timesteps=5)
    obs = torch.randn(64, 6, generator=torch.Generator().manual_seed(0)) * 2
    stim = enc.stimulation(obs)  # numba on the CPU
    assert torch.allclose(stim, receptive_fields(obs.clamp(enc.lo, enc.hi), enc.mu, enc.sigma), atol=1e-6)
    hard, csr = enc.encode(stim)
    dense = hard if hard is not None else csr.to_dense()
    assert torch.equal(dense.reshape(5, 64, -1), encoder_spikes(stim, enc.steps, enc.threshold))


def test_encoder_widths_stay_positive():
    enc = PopulationEncoder(3, pop_size=4, timesteps=5)
    obs = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    before = enc.stimulation(obs)
    with torch.no_grad():
        enc.sigma.neg_()  # a width driven through zero reads as its magnitude
    assert torch.allclose(enc.stimulation(obs), before)
    with torch.no_grad():
        enc.sigma.zero_()
    a = enc.stimulation(obs)
    assert torch.isfinite(a).all() and (enc.widths() > 0).all()
