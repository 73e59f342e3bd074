"""Current-based LIF layers with explicit state, unrolled layer-major (one matmul per layer for all T).

Neuron (snntorch ``Synaptic`` semantics, reset detached, reset applied on the step after a spike):

    c_t = alpha c_{t-1} + I_t                      (alpha: current decay, I_t = W x_t + bias)
    zero:      v_t = (beta v_{t-1} + c_t) (1 - o_{t-1})      (beta: voltage decay)
    subtract:  v_t =  beta v_{t-1} + c_t - th o_{t-1}
    popsan:    v_t =  beta v_{t-1} (1 - o_{t-1}) + c_t    (PopSAN's published form)
    o_t = H(v_t - th), surrogate dO/dv (``surrogate``, half-width ``w``):
      rect:    1 / (2 w) inside |v - th| < w                      integral clip(1/2 + (v - th) / (2 w), 0, 1)
      fast_sigmoid: 1 / (2 w) / (1 + |v - th| / w)^2               integral 1/2 + 1/2 softsign((v - th) / w)
    (both peak at 1 / (2 w) and integrate to 1; at w = 0.5 fast_sigmoid is snntorch's ``surrogate.fast_sigmoid``
    with slope 2. Its gradient never vanishes, so a silent neuron still learns.)

``smooth`` (lambda in [0, 1], 0 = spiking) mixes the step with the surrogate's own integral,
``o_t = (1 - lambda) H(v_t - th) + lambda integral(v_t)``: at 1 the forward is the smooth
function the backward assumes, and a weight step moves the output by what the gradient predicts; lowering lambda to
0 hardens the network into spikes (``legged_snn/snn/anneal.py``). The backward is the same surrogate for every lambda.

``lif_scan`` runs the elementwise recurrence over T in a custom autograd function (forward and BPTT written
out, no per-op autograd graph); ``tests/test_snn_neurons.py`` proves it equal to snntorch's ``Synaptic``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from legged_snn.snn import kernels
from legged_snn.snn.equations import lif_step
from legged_snn.snn.sparse import spike_linear

RESETS = ("zero", "subtract", "popsan")
SURROGATES = ("rect", "fast_sigmoid")


@dataclass
class NeuronCfg:
    current_decay: float = 0.5  # alpha in [0, 1]
    voltage_decay: float = 0.75  # beta in [0, 1]
    threshold: float = 0.5  # th > 0
    reset: str = "popsan"  # one of RESETS (popsan: PopSAN's form, the one every config uses and NIR can express)
    surrogate_width: float = 0.5  # w > 0: half-width of the rectangular window (fast_sigmoid: its scale)
    surrogate: str = "rect"  # one of SURROGATES
    # spikes a neuron may emit in one step (integer-valued "multi-spike" neurons, SpikeYOLO's I-LIF; Loihi 2's
    # graded spikes carry such a count): o_t = sum_k H(v_t - k th), k = 1..max_spikes. 1 = binary spikes
    max_spikes: int = 1

    def validate(self, where: str = "neuron") -> None:
        """One-line ValueError naming the bad field and what is allowed."""
        for name in ("current_decay", "voltage_decay"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{where}.{name} must be in [0, 1], got {v}")
        if self.threshold <= 0:
            raise ValueError(f"{where}.threshold must be > 0, got {self.threshold}")
        if self.reset not in RESETS:
            raise ValueError(f"{where}.reset must be one of {list(RESETS)}, got {self.reset!r}")
        if self.surrogate_width <= 0:
            raise ValueError(f"{where}.surrogate_width must be > 0, got {self.surrogate_width}")
        if self.surrogate not in SURROGATES:
            raise ValueError(f"{where}.surrogate must be one of {list(SURROGATES)}, got {self.surrogate!r}")
        if isinstance(self.max_spikes, bool) or not isinstance(self.max_spikes, int) or self.max_spikes < 1:
            raise ValueError(f"{where}.max_spikes must be an integer >= 1 (1 = binary spikes), got {self.max_spikes!r}")


class SurrogateSpike(torch.autograd.Function):
    """Heaviside forward; backward the surrogate dO/dv of ``kind`` (0 rect: 1/(2w) on |x| < w; 1 fast_sigmoid:
    1/(2w) / (1 + |x|/w)^2). x = v - th."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, width: float = 0.5, kind: int = 0) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.width, ctx.kind = width, kind
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        return grad * _surrogate_grad(x, ctx.width, ctx.kind), None, None


def rect_spike(x: torch.Tensor, width: float = 0.5) -> torch.Tensor:
    """0/1 spikes at x = v - th with the rectangular surrogate."""
    return SurrogateSpike.apply(x, width, 0)


def fast_sigmoid_spike(x: torch.Tensor, width: float = 0.5) -> torch.Tensor:
    """0/1 spikes at x = v - th with the fast-sigmoid surrogate."""
    return SurrogateSpike.apply(x, width, 1)


def smooth_output(v: torch.Tensor, th: float, width: float, kind: int = 0) -> torch.Tensor:
    """The surrogate's integral at v (a neuron's smooth output, in [0, 1]): kind 0 (rect) clip(1/2 + (v - th) /
    (2 width), 0, 1), kind 1 (fast_sigmoid) 1/2 + 1/2 softsign((v - th) / width). ``kernels.scan_forward`` computes
    the same."""
    if kind == 1:
        return 0.5 + 0.5 * F.softsign((v - th) / width)
    return (0.5 + (v - th) / (2.0 * width)).clamp(0.0, 1.0)


def rect_surrogate(width: float = 0.5):
    """A snntorch ``spike_grad`` callable with the rectangular surrogate."""
    return lambda x: rect_spike(x, width)


def spike_fn(cfg: NeuronCfg):
    """x = v - th -> 0/1 spikes with ``cfg``'s surrogate gradient (also a snntorch ``spike_grad``)."""
    kind = SURROGATES.index(cfg.surrogate)
    return lambda x: SurrogateSpike.apply(x, cfg.surrogate_width, kind)


def multi_spikes(v: torch.Tensor, th: float, kmax: int) -> torch.Tensor:
    """Spikes emitted at membrane v: sum_k H(v - k th), k = 1..kmax (binary when kmax = 1)."""
    if kmax == 1:
        return (v > th).to(v.dtype)
    return torch.clamp(torch.ceil(v / th) - 1.0, 0.0, float(kmax))


def multi_surrogate(v: torch.Tensor, th: float, width: float, kind: int, kmax: int) -> torch.Tensor:
    """dO/dv of ``multi_spikes``: the surrogate summed over the kmax thresholds."""
    return sum(_surrogate_grad(v - k * th, width, kind) for k in range(1, kmax + 1))


def multi_smooth(v: torch.Tensor, th: float, width: float, kind: int, kmax: int) -> torch.Tensor:
    """The smooth counterpart of ``multi_spikes``: the surrogate's integral summed over the thresholds."""
    return sum(smooth_output(v - (k - 1) * th, th, width, kind) for k in range(1, kmax + 1))


def _surrogate_grad(x: torch.Tensor, width: float, kind: int) -> torch.Tensor:
    """dO/dv at x = v - th (torch loop path of the scan's BPTT)."""
    if kind == 1:
        return 0.5 / width / (1.0 + x.abs() / width) ** 2
    return (x.abs() < width).to(x.dtype) / (2.0 * width)


class _LIFScan(torch.autograd.Function):
    """Elementwise LIF recurrence over T with hand-written BPTT."""

    @staticmethod
    def forward(ctx, current: torch.Tensor, c0: torch.Tensor, v0: torch.Tensor, o0: torch.Tensor,
                alpha: float, beta: float, th: float, reset: int, width: float, smooth: float = 0.0, kind: int = 0,
                store: bool = True, live: list | None = None, kmax: int = 1):
        T = current.shape[0]
        spikes = torch.empty_like(current)
        ctx.consts = (alpha, beta, th, reset, width, kind, kmax)
        if _use_kernels(current) and kmax > 1:  # multi-spike counts: dO/dv stored, counts clamped as reset gates
            c, v, o = (x.detach().clone(memory_format=torch.contiguous_format) for x in (c0, v0, o0))
            k = np.dtype(kernels.as_np(current).dtype).type
            window = torch.empty(current.shape if store else (1, 1, 1), dtype=current.dtype)
            kernels.scan_forward_multi(kernels.as_np(current), c.numpy(), v.numpy(), o.numpy(), spikes.numpy(),
                                             window.numpy(), k(alpha), k(beta), k(th), reset, k(width), k(smooth), kind,
                                             store, kmax)
            ctx.save_for_backward(window, spikes.clamp(max=1.0), o0.clamp(max=1.0))
            if live is not None and store:
                live.append(live_share(window, width, kind))
            return spikes, c, v, o
        if _use_kernels(current):
            c, v, o = (x.detach().clone(memory_format=torch.contiguous_format) for x in (c0, v0, o0))
            k = np.dtype(kernels.as_np(current).dtype).type
            # what BPTT needs of v per neuron-step: a 0/1 window (rect) or dO/dv itself (fast_sigmoid)
            window = torch.empty(current.shape if store else (1, 1, 1),
                                 dtype=torch.uint8 if kind == 0 else current.dtype)
            kernels.scan_forward(kernels.as_np(current), c.numpy(), v.numpy(), o.numpy(), spikes.numpy(),
                                 window.numpy(), k(alpha), k(beta), k(th), reset, k(width), k(smooth), kind, store)
            ctx.save_for_backward(window, spikes, o0)
            if live is not None and store:
                live.append(live_share(window, width, kind))
            return spikes, c, v, o
        volts = torch.empty_like(current)
        c, v, o = c0, v0, o0
        for t in range(T):
            c, v = lif_step(current[t], c, v, o, alpha, beta, th, reset, kmax)  # a count resets like one spike
            o = multi_spikes(v, th, kmax)
            if smooth > 0:
                o = o + smooth * (multi_smooth(v, th, width, kind, kmax) - o)
            volts[t] = v
            spikes[t] = o
        ctx.save_for_backward(volts, spikes, o0)
        if live is not None:
            live.append(live_share(multi_surrogate(volts, th, width, kind, kmax), width, kind))
        return spikes, c, v, o

    @staticmethod
    def backward(ctx, g_spikes, g_c, g_v, g_o):
        volts, spikes, o0 = ctx.saved_tensors  # volts is the surrogate's window on the kernel path
        alpha, beta, th, reset, width, kind, kmax = ctx.consts
        if _use_kernels(spikes):  # multi-spike: spikes are the reset gates, volts dO/dv (scale 1)
            zeros = torch.zeros_like(spikes[0])
            g_current = torch.empty_like(spikes)
            g_c0, g_v0 = torch.empty_like(zeros), torch.empty_like(zeros)
            gs = g_spikes if g_spikes is not None else torch.zeros_like(spikes)
            k = np.dtype(kernels.as_np(spikes).dtype).type
            kernels.scan_backward(kernels.as_np(gs), kernels.as_np(g_c if g_c is not None else zeros),
                                  kernels.as_np(g_v if g_v is not None else zeros), kernels.as_np(volts),
                                  kernels.as_np(spikes), kernels.as_np(o0), g_current.numpy(), g_c0.numpy(),
                                  g_v0.numpy(), k(alpha), k(beta), reset,
                                  k(1.0 / (2.0 * width) if kind == 0 and kmax == 1 else 1.0))
            return g_current, g_c0, g_v0, None, None, None, None, None, None, None, None, None, None, None
        T = volts.shape[0]
        fired = spikes if kmax == 1 else spikes.clamp(max=1.0)
        fired0 = o0 if kmax == 1 else o0.clamp(max=1.0)
        g_current = torch.empty_like(volts)
        zero = torch.zeros_like(volts[0])
        gv_next, gc_next = zero, zero  # dL/dv_{t+1}, dL/dc_{t+1}
        for t in range(T - 1, -1, -1):
            surrogate = multi_surrogate(volts[t], th, width, kind, kmax)
            gv = g_spikes[t] * surrogate if g_spikes is not None else zero
            if t == T - 1:
                gv = gv + (g_v if g_v is not None else zero)
            else:
                gv = gv + gv_next * (beta * (1.0 - fired[t]) if reset in (0, 2) else beta)
            o_prev = fired[t - 1] if t > 0 else fired0
            gc = gv * (1.0 - o_prev) if reset == 0 else gv
            gc = gc + (gc_next * alpha if t < T - 1 else (g_c if g_c is not None else zero))
            g_current[t] = gc
            gv_next, gc_next = gv, gc
        # gradients w.r.t. the initial state (membrane mode carries it across control steps)
        g_v0 = gv_next * (beta * (1.0 - fired0) if reset in (0, 2) else beta)
        g_c0 = gc_next * alpha
        return g_current, g_c0, g_v0, None, None, None, None, None, None, None, None, None, None, None


LIVE_FRACTION = 0.1
"""A neuron-step receives gradient ("live") when its surrogate dO/dv is at least this share of the peak 1 / (2 w):
the rectangle's window exactly; for fast_sigmoid |v - th| < 2.16 w."""
LIVE_SAMPLE_ROWS = 2048


def live_share(window: torch.Tensor, width: float, kind: int) -> float:
    """Share of neuron-steps with a live surrogate, from the scan's saved window (rect: 0/1; fast_sigmoid: dO/dv)
    over the first ``LIVE_SAMPLE_ROWS`` samples (T, rows, H)."""
    w = window[:, :LIVE_SAMPLE_ROWS]
    if kind == 0 and w.dtype == torch.uint8:
        return float(w.float().mean())
    return float((w >= LIVE_FRACTION / (2.0 * width)).float().mean())


USE_KERNELS = True
"""Use the numba CPU kernels for CPU tensors (set False to run the torch loop, e.g. to compare)."""


def _use_kernels(x: torch.Tensor) -> bool:
    return USE_KERNELS and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


def lif_scan(current: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor, torch.Tensor], cfg: NeuronCfg,
             smooth: float = 0.0, live: list | None = None):
    """(T, N, H) input currents + state (c, v, o) each (N, H) -> spikes (T, N, H), new state. ``live``: a list that
    gets the share of neuron-steps with a live surrogate gradient (``live_share``) when a backward will run."""
    c0, v0, o0 = state
    reset = RESETS.index(cfg.reset)
    store = torch.is_grad_enabled() and any(x.requires_grad for x in (current, c0, v0, o0))  # else no backward
    spikes, c, v, o = _LIFScan.apply(current, c0, v0, o0, cfg.current_decay, cfg.voltage_decay, cfg.threshold,
                                     reset, cfg.surrogate_width, float(smooth), SURROGATES.index(cfg.surrogate),
                                     store, live if store else None, int(cfg.max_spikes))
    return spikes, (c, v, o)


def lif_scan_reference(current: torch.Tensor, state, cfg: NeuronCfg, smooth: float = 0.0):
    """The same recurrence with plain autograd ops (readable reference, used by tests and exports)."""
    c, v, o = state
    spike, kind, th, kmax = spike_fn(cfg), SURROGATES.index(cfg.surrogate), cfg.threshold, cfg.max_spikes
    out = []
    reset = RESETS.index(cfg.reset)
    for t in range(current.shape[0]):  # the reset gate is detached (snntorch's reset_delay semantics)
        c, v = lif_step(current[t], c, v, o.detach(), cfg.current_decay, cfg.voltage_decay, th, reset, kmax)
        o = sum(spike(v - k * th) for k in range(1, kmax + 1))
        if smooth > 0:  # forward mixes in the integral; backward stays the surrogate (its derivative)
            o = o + smooth * (multi_smooth(v, th, cfg.surrogate_width, kind, kmax) - o).detach()
        out.append(o)
    return torch.stack(out), (c, v, o)


class LIFLayer(nn.Module):
    """Linear synapses + current-based LIF neurons; input (T, N, in) spikes -> (T, N, out) spikes."""

    def __init__(self, in_features: int, out_features: int, cfg: NeuronCfg, init_gain: float = 1.0,
                 binary_input: bool = True) -> None:
        """``init_gain`` scales torch's default uniform(+-1/sqrt(in)) weights and biases: binary inputs firing at
        rate r give currents ~sqrt(r) as large as unit-variance inputs would, so at gain 1 the state-dependent
        part of the rates shrinks layer by layer (docs/snn.md, "Initial gain")."""
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.fc = nn.Linear(in_features, out_features)
        with torch.no_grad():
            self.fc.weight.mul_(init_gain)
            self.fc.bias.mul_(init_gain)
        self.out_features = out_features
        self.binary_input = binary_input  # False: multi-spike counts come in, the product is dense

    def zero_state(self, n: int, device=None, dtype=torch.float32):
        """(c, v, o) all zeros, each (n, out)."""
        z = torch.zeros(n, self.out_features, device=device, dtype=dtype)
        return z, z.clone(), z.clone()

    def forward(self, x: torch.Tensor, state=None, fused: bool = True, smooth: float = 0.0, bf16: bool = False,
                live: list | None = None):
        """x (T, N, in) 0/1 -> spikes (T, N, out), state (c, v, o). One (sparse) matmul over all T*N rows.

        ``fused=False`` is the plain-autograd reference (dense nn.Linear, torch-op recurrence); ``smooth`` > 0
        makes inputs and outputs non-binary, so the matmul is dense. ``bf16``: the dense products (the input
        gradient; with ``smooth`` the forward too) in bf16 (mixed precision)."""
        T, N = x.shape[:2]
        if fused and smooth == 0:  # multi-spike counts: each index repeated as often as its count
            current = spike_linear(x, self.fc.weight, self.fc.bias, bf16, counts=not self.binary_input)
        elif bf16 and x.dtype == torch.float32:
            current = F.linear(x.bfloat16(), self.fc.weight.bfloat16(), self.fc.bias.bfloat16()).float()
        else:
            current = self.fc(x)
        if state is None:
            state = self.zero_state(N, x.device, current.dtype)
        if fused:
            return lif_scan(current, state, self.cfg, smooth, live)
        return lif_scan_reference(current, state, self.cfg, smooth)
