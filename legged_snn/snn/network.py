"""The spiking core: encoder -> LIF layers (layer-major) -> decoder, with spike counting.

Decoders (``decoders.py``): ``membrane`` reads A non-spiking integrators driven by the last hidden layer's spikes;
``rate`` (PopSAN) adds an output population of A x P spiking neurons and reads its firing rates.

The first layer takes the encoder's spikes through ``_EncodedLinear``: forward is one (T*N, D*P) x (D*P, H)
matmul; backward gives the weights their exact gradient and the encoder its straight-through gradient as
``W^T sum_t g_t`` (one (N, H) x (H, D*P) matmul instead of T), which is what autograd would compute, cheaper.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from legged_snn.snn import sparse
from legged_snn.snn.centering import center_weights, hold_stored
from legged_snn.snn.decoders import MembraneDecoder, PopulationDecoder, check_decoder
from legged_snn.snn.direct import DirectEncoder
from legged_snn.snn.encoders import PopulationEncoder
from legged_snn.snn.neurons import LIFLayer, NeuronCfg, lif_scan
from legged_snn.snn.rate_grad import check_gradient, rate_hidden, rate_layer
from legged_snn.snn.step_scale import scale_steps


class _EncodedLinear(torch.autograd.Function):
    """currents_t = W x_t + b for the encoder's output x_t = (1 - blend) s_t + blend A (spikes s (T, N, K), stimulation
    A (N, K); blend = 0: spikes only), whose gradient goes straight to A. The smooth part is the same every step, so it
    is one (N, K) matmul, not T; the spiking part is the sparse product with the spikes."""

    @staticmethod
    def forward(ctx, stim: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, hard, csr, T: int,
                blend: float = 0.0, bf16: bool = False):
        N, K = stim.shape
        ctx.shape, ctx.blend, ctx.csr, ctx.bf16 = (T, N), blend, None, bf16
        flat = None
        out = None
        if blend < 1.0:
            if hard is None and csr.density >= sparse.DENSE_ABOVE:  # CSR only, but too dense for the sparse path
                hard = csr.to_dense(stim.dtype)
            flat = hard.reshape(T * N, K).to(stim.dtype) if hard is not None else None
            out, ctx.csr = sparse.forward_linear(flat, weight, bias, csr)
            out = out.view(T, N, -1)
        if blend > 0.0:
            smooth = sparse.dense_mm(stim.detach(), weight.t(), bf16).add_(bias)  # (N, H), every step
            out = smooth.expand(T, N, -1).clone() if out is None else out.mul_(1.0 - blend).add_(smooth, alpha=blend)
        ctx.save_for_backward(flat, weight, stim.detach() if blend > 0.0 else None)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        flat, weight, stim = ctx.saved_tensors
        T, N = ctx.shape
        blend = ctx.blend
        g_sum = grad.sum(dim=0)  # (N, H)
        g_weight = None
        if blend < 1.0:
            g_weight = sparse.weight_grad(flat, grad.reshape(T * N, -1), ctx.csr)
            if blend > 0.0:
                g_weight = g_weight.mul_(1.0 - blend)
        if blend > 0.0:
            g_smooth = sparse.dense_mm(g_sum.t(), stim, ctx.bf16)
            g_weight = g_smooth.mul_(blend) if g_weight is None else g_weight.add_(g_smooth, alpha=blend)
        g_stim = sparse.dense_mm(g_sum, weight, ctx.bf16) if ctx.needs_input_grad[0] else None
        return g_stim, g_weight, g_sum.sum(dim=0), None, None, None, None, None


class _RateRegularizer(torch.autograd.Function):
    """Identity forward; backward adds d(weight * mean(spikes))/d spikes = weight / numel, so the loss the
    optimizer sees gains ``weight * firing rate`` without changing rsl-rl's PPO."""

    @staticmethod
    def forward(ctx, spikes: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight, ctx.numel = weight, spikes.numel()
        return spikes.view_as(spikes)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad + ctx.weight / ctx.numel, None


class SpikingNetwork(nn.Module):
    """(N, D) normalized observation -> (N, A) action mean; spike statistics counted when ``record``."""

    def __init__(self, obs_dim: int, num_actions: int, hidden_dims: list[int], timesteps: int = 5,
                 pop_in: int = 10, pop_out: int = 10, neuron: NeuronCfg | None = None,
                 encoder_mode: str = "deterministic",
                 mu_range: tuple[float, float] = (-3.0, 3.0), sigma2: float = 0.15, tanh: bool = False,
                 readout_gain: float = 1.0, init_gain: float = 1.0, decoder: str = "membrane",
                 decoder_leak: float = 0.0, decoder_read: str = "last", lr_scale: float = 1.0,
                 gradient: str = "bptt", weight_centering: bool | str = False,
                 bias_lr_scale: float | None = None, norm_lr_scale: float = 0.1,
                 spike_step_scale: float = 1.0) -> None:
        super().__init__()
        check_decoder(decoder, decoder_leak, decoder_read)
        if decoder == "membrane" and not hidden_dims:
            raise ValueError("snn.decoder 'membrane' reads the last hidden layer's spikes: give at least one hidden "
                             "layer (actor_hidden_dims)")
        self.neuron = neuron or NeuronCfg()
        self.neuron.validate("snn.neuron")
        self.direct = encoder_mode == "direct"  # the first layer reads the observation as current (direct.py)
        self.encoder = (DirectEncoder(obs_dim, timesteps, mu_range) if self.direct
                        else PopulationEncoder(obs_dim, pop_in, timesteps, mu_range, sigma2, encoder_mode))
        self.decoder_kind = decoder
        sizes = [self.encoder.out_features, *hidden_dims] + ([num_actions * pop_out] if decoder == "rate" else [])
        check_gradient(gradient)
        binary = [True] + [self.neuron.max_spikes == 1] * (len(sizes) - 2)  # the encoder's spikes are binary
        self.layers = nn.ModuleList(LIFLayer(i, o, self.neuron, init_gain, bin_in)
                                    for i, o, bin_in in zip(sizes[:-1], sizes[1:], binary))
        self.decoder: MembraneDecoder | PopulationDecoder
        if decoder == "rate":
            self.decoder = PopulationDecoder(num_actions, pop_out, tanh, readout_gain)
        else:
            self.decoder = MembraneDecoder(hidden_dims[-1], num_actions, timesteps, decoder_leak, decoder_read, tanh)
        self.num_actions = num_actions
        rules = []  # zero-sum synapses per LIF neuron, of fixed or learned norm (centering.py)
        if weight_centering:
            rules = center_weights([layer.fc for layer in self.layers], weight_centering, norm_lr_scale)
        # every parameter used as lr_scale x stored, the LIF biases as bias_lr_scale x stored (step_scale.py); the
        # learned norms step at norm_lr_scale in log space, inside their own rule
        overrides = {}
        if bias_lr_scale is not None:
            overrides = {(id(layer.fc), "bias"): bias_lr_scale for layer in self.layers}
        overrides.update({(id(rule), "log_norm"): 1.0 for rule in rules})
        scale_steps(self, lr_scale, overrides)
        # "sphere": these linears' stored rows are held too, by ``after_step`` after each optimizer step
        self.sphere_linears = [layer.fc for layer in self.layers] if weight_centering == "sphere" else []
        self.spike_step = float(spike_step_scale)  # sphere: the angle per step on pure spikes, as a fraction of the
        # smooth forward's
        self.lr_scale = float(lr_scale)
        self.timesteps = timesteps
        self.gradient = gradient  # bptt: exact BPTT through T; rate: rate_grad.py (stateless forwards only)
        self.record = False
        self.record_live = True  # forwards that will be backpropagated: share of neuron-steps with a live surrogate
        self.rate_reg = 0.0  # weight of the mean firing rate (encoder and hidden layers) added to the loss (0 = off)
        self.smooth = 0.0  # lambda in [0, 1]: 0 spikes; > 0 mixes in the surrogate's integral (neurons.py, anneal.py)
        self.reset_stats()

    def after_step(self, optimizer: torch.optim.Optimizer, *_args) -> None:
        """An optimizer step post-hook: "sphere" weights' stored rows (and Adam's moments) back to their held norms
        x 1 / (spike_step + (1 - spike_step) lambda), so the angle per step falls to ``spike_step`` x its smooth
        size as the anneal brings spikes in (centering.py); nothing for the other modes."""
        if self.sphere_linears:
            scale = self.spike_step + (1.0 - self.spike_step) * self.smooth
            hold_stored(self.sphere_linears, optimizer, 1.0 / scale)

    # ---------------------------------------------------------------------------------- statistics
    def reset_stats(self) -> None:
        """Zero the spike counters: per layer (encoder first) spikes and neuron-steps."""
        n = len(self.layers) + 1
        self.spike_counts = torch.zeros(n, dtype=torch.float64)
        self.neuron_steps = torch.zeros(n, dtype=torch.float64)
        self.inferences = 0
        self.live: list[list[float]] = [[] for _ in self.layers]  # per layer, one share per training forward

    def grad_live(self) -> dict[str, float]:
        """Mean share of neuron-steps whose surrogate gradient is live (neurons.LIVE_FRACTION), per LIF layer, over
        the forwards since ``reset_stats`` that a backward could follow (grad enabled: PPO's updates, not rollouts;
        empty when none ran)."""
        names = [f"lif{i}" for i in range(len(self.layers))]
        if self.decoder_kind == "rate":
            names[-1] = "output"
        return {name: sum(v) / len(v) for name, v in zip(names, self.live) if v}

    def _count(self, idx: int, spikes: torch.Tensor | None, nnz: int | None = None, numel: int = 0) -> None:
        self.spike_counts[idx] += float(spikes.detach().sum()) if nnz is None else nnz
        self.neuron_steps[idx] += float(spikes.numel()) if spikes is not None else numel

    def layer_names(self) -> list[str]:
        """Spiking populations: the encoder, the hidden layers, and (rate decoder) the output population."""
        hidden = len(self.layers) - (1 if self.decoder_kind == "rate" else 0)
        return ["encoder"] + [f"lif{i}" for i in range(hidden)] + (["output"] if self.decoder_kind == "rate" else [])

    def fan_outs(self) -> list[int]:
        """Synapses leaving each spiking population: the rate decoder's output population feeds MACs (0), the
        membrane decoder's integrators take the last hidden layer's spikes (A synapses each)."""
        last = 0 if self.decoder_kind == "rate" else self.num_actions
        return [layer.fc.out_features for layer in self.layers] + [last]

    # ------------------------------------------------------------------------------------- forward
    def forward(self, obs: torch.Tensor, state: list | None = None, fused: bool = True):
        """obs (N, D) -> mean (N, A); with ``state`` (one (c, v, o) per layer) also returns the new state.

        Under bf16 autocast on the CPU the spiking core keeps float32 state, spikes and weights (its numba
        kernels have no bf16, and sums of weight rows over spikes are exact anyway) and computes its dense
        products in bf16: the input gradients G W and, while annealing, the smooth forward. On a GPU the torch
        path takes autocast's bf16 matmuls: spikes are exact in bf16."""
        if obs.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                out = self._forward(obs.float(), state, fused, bf16=True)
            return out
        return self._forward(obs, state, fused)

    def _forward(self, obs: torch.Tensor, state: list | None, fused: bool, bf16: bool = False):
        stim = self.encoder.stimulation(obs)
        blend = float(self.smooth)
        # blend > 0: every population emits (1 - blend) spikes + blend x its smooth value; the encoder's is A each step
        hard, csr = self.encoder.encode(stim) if blend < 1.0 and not self.direct else (None, None)
        penalize = self.rate_reg > 0 and torch.is_grad_enabled()
        membrane = self.decoder_kind == "membrane"
        per_layer = self.rate_reg / (len(self.layers) + membrane)  # the encoder and each hidden population, equally
        if penalize:  # the encoder's rate follows its stimulation (about floor(T A) / T spikes per step)
            stim = _RateRegularizer.apply(stim, per_layer)
        if self.record and self.direct:  # no input spikes: the first layer's MACs are charged by energy.py
            self._count(0, None, 0.0, self.timesteps * stim.numel())
        elif self.record:
            spikes = csr.nnz if csr is not None else (float(hard.sum()) if hard is not None else 0.0)
            self._count(0, None, (1.0 - blend) * spikes + blend * self.timesteps * float(stim.detach().sum()),
                        self.timesteps * stim.numel())
        first = self.layers[0]
        rate = fused and state is None and self.gradient == "rate" and torch.is_grad_enabled()
        with torch.no_grad() if rate else contextlib.nullcontext():  # rate: the layer's backward is rate_grad's
            current = _EncodedLinear.apply(stim, first.fc.weight, first.fc.bias, hard, csr, self.timesteps,
                                           1.0 if self.direct else blend, bf16)  # direct: W x + b every step
        new_state = []
        n = obs.shape[0]
        st = state[0] if state is not None else first.zero_state(n, obs.device, current.dtype)
        live = self.live if self.record_live and torch.is_grad_enabled() else [None] * len(self.layers)
        if live[0] is not None and len(live[0]) > 10000:  # nobody reads them (no runner): keep the latest only
            self.live = live = [v[-1000:] for v in live]
        if rate:  # the first layer's time-averaged input: the observation itself (direct) or the encoder's rate
            r_in = (stim.detach() if self.direct
                    else self.encoder.rate(stim, hard) * (1.0 - blend) + blend * stim.detach())
            x, s = rate_layer(stim, current, r_in, first.fc.weight, first.fc.bias, self.neuron, blend, bf16,
                              live[0]), None
        elif fused:
            x, s = lif_scan(current, st, self.neuron, blend, live[0])
        else:  # plain autograd through the straight-through spikes (reference for tests)
            spikes = hard if hard is not None else self.encoder.hard_spikes(stim)
            mix = 1.0 if self.direct else blend
            x, s = first(torch.lerp(spikes, stim.detach(), mix) + (stim - stim.detach()), st, fused, blend)
        new_state.append(s)
        if self.record:
            self._count(1, x)
        for i, layer in enumerate(self.layers[1:], start=1):
            if penalize:
                x = _RateRegularizer.apply(x, per_layer)
            st = state[i] if state is not None else None
            if rate:
                x, s = rate_hidden(layer, x, blend, bf16, live[i]), None
            else:
                x, s = layer(x, st, fused, blend, bf16, live[i])
            new_state.append(s)
            if self.record:
                self._count(i + 1, x)
        if self.record:
            self.inferences += n
        if penalize and membrane:  # the last hidden layer feeds the readout
            x = _RateRegularizer.apply(x, per_layer)
        mean = self.decoder(x)
        return (mean, new_state) if state is not None else mean

    @torch.no_grad()
    def spike_trace(self, obs: torch.Tensor, state: list | None = None) -> tuple[list[torch.Tensor], list]:
        """Every population's spikes for one control step: [encoder (T, N, D*P), layer 1 (T, N, H1), ..., and with
        the rate decoder the output population (T, N, A*P)] and the new state (plain ops; for rasters and
        reference checks)."""
        x = self.encoder.hard_spikes(self.encoder.stimulation(obs))
        trace, new_state = [x], []
        for i, layer in enumerate(self.layers):
            x, s = layer(x, state[i] if state is not None else None, False)
            trace.append(x)
            new_state.append(s)
        return trace, new_state
