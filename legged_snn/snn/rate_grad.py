"""Rate-based gradient (``snn.gradient: rate``): one backward product per layer instead of T.

After Yu et al. (NeurIPS 2024, rate-based backpropagation): the forward runs the spiking network as usual; the
backward treats each LIF layer as a map between time-averaged activities, ``r_l = f_l(W_l r_{l-1} + b_l)`` with
``r = (1 / T) sum_t s_t``, whose derivative ``D = dr/dI`` is taken per neuron from the forward's own trajectory:

    D = (1 / T) sum_t  dO/dv(v_t) * dv_t/dI          dv_t/dI: the LIF recurrence's response to a constant unit
                                                       current (c and v decays, reset detached as in BPTT)
    g_I = D * sum_t g_{s_t}      g_W = g_I^T r_in      g_b = sum_n g_I      g_{r_in} = g_I W

(each (N, H) x (N, K) or (N, H) x (H, K): one dense product, where BPTT needs T*N rows). The input of the layer
receives ``g_{r_in} / T`` at every step, so the layer below sums it back to ``g_{r_in}``. For the first layer the
encoder's straight-through gradient gives the stimulation ``g_{r_in}`` itself; with direct input (``encoder_mode:
direct``) ``r_in`` is the clamped observation, the first layer's input at every step, and ``g_{r_in}`` its gradient.

Where the network is its own time average (the smooth forward, lambda = 1, whose first layer sees the same current
every step) the rule is the exact gradient; on spikes it is an approximation (``bench/snn_speed.py`` reports its
cosine to BPTT per layer). Only the stateless (``stack``) actor uses it: it starts every control step from rest.
"""

from __future__ import annotations

import numpy as np
import torch

from legged_snn.snn import kernels, sparse
from legged_snn.snn.equations import lif_step
from legged_snn.snn.neurons import (
    LIVE_FRACTION,
    LIVE_SAMPLE_ROWS,
    RESETS,
    SURROGATES,
    NeuronCfg,
    _use_kernels,
    multi_smooth,
    multi_spikes,
    multi_surrogate,
)

GRADIENTS = ("bptt", "rate")


def rate_unsupported(history: str = "stack") -> str | None:
    """Why the rate rule cannot train this network (one line), or None: it assumes every control step starts from
    rest. Binary and multi-spike neurons (``max_spikes`` > 1) alike: a multi-spike rate is the mean count per step."""
    if history != "stack":
        return ("snn.gradient 'rate' needs snn.history 'stack' (it assumes every control step starts from rest); "
                "use snn.gradient 'bptt' with history 'membrane'")
    return None


def check_gradient(gradient: str, history: str = "stack") -> None:
    """One-line ValueError for a bad ``snn.gradient`` or one the history or neurons cannot take."""
    if gradient not in GRADIENTS:
        raise ValueError(f"snn.gradient must be one of {list(GRADIENTS)}, got {gradient!r}")
    why = rate_unsupported(history) if gradient == "rate" else None
    if why:
        raise ValueError(why)


def scan_sensitivity(current: torch.Tensor, cfg: NeuronCfg, smooth: float = 0.0
                     ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(T, N, H) currents from a zero state -> spikes (T, N, H), D = d rate / d I (N, H), share of live neuron-steps
    over the first ``LIVE_SAMPLE_ROWS`` samples. No autograd."""
    alpha, beta, th, w = cfg.current_decay, cfg.voltage_decay, cfg.threshold, cfg.surrogate_width
    reset, kind, kmax = RESETS.index(cfg.reset), SURROGATES.index(cfg.surrogate), int(cfg.max_spikes)
    floor = LIVE_FRACTION / (2.0 * w)
    current = current.detach().contiguous()
    T, N, H = current.shape
    rows = min(N, LIVE_SAMPLE_ROWS)
    if _use_kernels(current):
        spikes, sens = torch.empty_like(current), current.new_empty(N, H)
        live = np.empty(N, dtype=np.int64)
        k = np.dtype(kernels.as_np(current).dtype).type
        kernels.scan_rate(kernels.as_np(current), spikes.numpy(), sens.numpy(), live, k(alpha), k(beta), k(th),
                          reset, k(w), k(smooth), kind, k(floor), kmax)
        return spikes, sens, float(live[:rows].sum()) / max(T * rows * H, 1)
    zero = torch.zeros_like(current[0])
    c, v, o, kc, kv, acc = zero, zero, zero, zero, zero, zero
    spikes, n_live = torch.empty_like(current), 0.0
    one = torch.ones_like(zero)
    for t in range(T):
        # dv/dI (kc, kv) follows the same recurrence with unit input and no subtracted threshold (reset detached)
        kc, kv = lif_step(one, kc, kv, o, alpha, beta, 0.0, reset, kmax)
        c, v = lif_step(current[t], c, v, o, alpha, beta, th, reset, kmax)
        d = multi_surrogate(v, th, w, kind, kmax)
        n_live += float((d[:rows] >= floor).sum())
        acc = acc + d * kv
        o = multi_spikes(v, th, kmax).to(current.dtype)
        if smooth > 0:
            o = o + smooth * (multi_smooth(v, th, w, kind, kmax) - o)
        spikes[t] = o
    return spikes, acc / T, n_live / max(T * rows * H, 1)


class _RateLIF(torch.autograd.Function):
    """Spikes (T, N, H) of a layer whose currents were computed without autograd; the backward is the rate rule.

    ``carrier`` is what the gradient goes to: the layer's input spikes (T, N, K) (gets g_{r_in} / T per step), the
    encoder's stimulation (N, K) (gets g_{r_in}, straight-through) or, with direct input, the clamped observation
    (N, K). ``r_in`` (N, K) is the input's time average."""

    @staticmethod
    def forward(ctx, carrier: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, spikes: torch.Tensor,
                sens: torch.Tensor, r_in: torch.Tensor, bf16: bool = False) -> torch.Tensor:
        ctx.save_for_backward(weight, sens, r_in)
        ctx.carrier_shape, ctx.bf16 = carrier.shape, bf16
        return spikes.view_as(spikes)

    @staticmethod
    def backward(ctx, g_spikes: torch.Tensor):
        weight, sens, r_in = ctx.saved_tensors
        dtype = weight.dtype  # a CUDA autocast forward leaves bf16 spikes and sensitivities: products in the weights'
        sens, r_in = sens.to(dtype), r_in.to(dtype)
        g_cur = sens * g_spikes.to(dtype).sum(dim=0)  # (N, H): dL/dI of the time-averaged layer
        g_weight = sparse.dense_mm(g_cur.t(), r_in, ctx.bf16) if ctx.needs_input_grad[1] else None
        g_bias = g_cur.sum(dim=0) if ctx.needs_input_grad[2] else None
        g_carrier = None
        if ctx.needs_input_grad[0]:
            g_rin = sparse.dense_mm(g_cur, weight, ctx.bf16)  # (N, K)
            shape = ctx.carrier_shape
            g_carrier = g_rin if len(shape) == 2 else (g_rin / shape[0]).expand(shape)
        return g_carrier, g_weight, g_bias, None, None, None, None


def rate_layer(carrier: torch.Tensor, current: torch.Tensor, r_in: torch.Tensor, weight: torch.Tensor,
               bias: torch.Tensor, cfg: NeuronCfg, smooth: float, bf16: bool, live: list | None
               ) -> torch.Tensor:
    """One LIF layer with the rate gradient: ``current`` (T, N, H) computed without autograd from the layer's input;
    returns its spikes (T, N, H), differentiable by the rate rule w.r.t. carrier, weight and bias."""
    spikes, sens, share = scan_sensitivity(current, cfg, smooth)
    if live is not None:
        live.append(share)
    return _RateLIF.apply(carrier, weight, bias, spikes, sens, r_in.detach(), bf16)


def rate_hidden(layer, x: torch.Tensor, smooth: float, bf16: bool, live: list | None) -> torch.Tensor:
    """A hidden ``LIFLayer`` (stateless) on input spikes x (T, N, K) with the rate gradient -> spikes (T, N, H)."""
    w, b = layer.fc.weight, layer.fc.bias
    with torch.no_grad():
        xd = x.detach()
        current = (sparse.spike_linear(xd, w, b, bf16, counts=not layer.binary_input) if smooth == 0
                   else torch.nn.functional.linear(xd, w, b))
    return rate_layer(x, current, xd.mean(dim=0), w, b, layer.cfg, smooth, bf16, live)
