"""Forward-only, TorchScript- and ONNX-friendly copies of the spiking actor (normalizer inside).

The membrane-mode export takes and returns the LIF state (c, v, o), each [layers, batch, max width].
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from legged_snn.snn.equations import encoder_spikes, lif_step, receptive_fields
from legged_snn.snn.neurons import RESETS


def _plain_linear(fc: nn.Linear) -> nn.Linear:
    """A parameter-free copy of ``fc`` with its effective weights (``snn.lr_scale`` reparametrizes the originals)."""
    out = nn.Linear(fc.in_features, fc.out_features)
    with torch.no_grad():
        out.weight.copy_(fc.weight.detach().cpu())
        out.bias.copy_(fc.bias.detach().cpu())
    return out.requires_grad_(False)


class SNNCore(nn.Module):
    """normalizer + encoder + LIF layers + decoder in plain tensor ops; one control step. The membrane decoder's
    integrators start from zero every control step, so only the LIF state is carried (membrane history mode)."""

    def __init__(self, normalizer: nn.Module, network) -> None:
        super().__init__()
        self.normalizer = copy.deepcopy(normalizer).cpu()
        enc, cfg = network.encoder, network.neuron
        self.direct = enc.mode == "direct"  # the first layer reads the clamped observation (direct.py)
        empty = torch.zeros(1)
        self.register_buffer("mu", empty if self.direct else enc.mu.detach().clone().cpu())
        self.register_buffer("sigma", empty if self.direct else enc.widths().detach().clone().cpu())
        self.register_buffer("steps", empty if self.direct else enc.steps.detach().clone().cpu())
        self.enc_threshold = 1.0 if self.direct else float(enc.threshold)
        self.lo, self.hi = enc.lo, enc.hi
        self.probabilistic = enc.mode == "probabilistic"
        self.fcs = nn.ModuleList(_plain_linear(layer.fc) for layer in network.layers)
        self.widths = [layer.out_features for layer in network.layers]
        self.alpha, self.beta, self.th = float(cfg.current_decay), float(cfg.voltage_decay), float(cfg.threshold)
        self.reset_mode = RESETS.index(cfg.reset)
        self.kmax = int(cfg.max_spikes)
        dec = network.decoder
        self.membrane = network.decoder_kind == "membrane"
        if self.membrane:  # integrators: mean = W (sum_t k_t s_t) + (sum_t k_t) b (decoders.MembraneDecoder)
            self.register_buffer("dec_w", dec.fc.weight.detach().clone().cpu())
            self.register_buffer("dec_b", (dec.fc.bias * dec.k.sum()).detach().clone().cpu())
            self.register_buffer("dec_k", dec.k.detach().clone().cpu().view(-1, 1, 1))
            self.pop_out = 0
        else:
            self.register_buffer("dec_w", dec.readout_weight().detach().clone().cpu())
            self.register_buffer("dec_b", dec.readout_bias().detach().clone().cpu())
            self.register_buffer("dec_k", torch.zeros(1, 1, 1))
            self.pop_out = int(dec.pop_size)
        self.tanh = bool(dec.tanh)
        self.timesteps = int(network.timesteps)
        self.num_actions = int(dec.num_actions)

    def forward(self, obs: torch.Tensor, c: torch.Tensor, v: torch.Tensor, o: torch.Tensor):
        x = self.normalizer(obs).clamp(self.lo, self.hi)
        if self.direct:  # the first layer's current is W x + b every step
            spikes = x.unsqueeze(0).expand(self.timesteps, x.shape[0], x.shape[1])
        elif self.probabilistic:
            a = receptive_fields(x, self.mu, self.sigma)
            spikes = (torch.rand(self.timesteps, a.shape[0], a.shape[1]) < a).to(a.dtype)
        else:
            spikes = encoder_spikes(receptive_fields(x, self.mu, self.sigma), self.steps, self.enc_threshold)
        cs, vs, os_ = [], [], []
        i = 0
        for fc in self.fcs:
            w = self.widths[i]
            cur = fc(spikes)  # (T, N, w)
            ci, vi, oi = c[i, :, :w], v[i, :, :w], o[i, :, :w]
            outs = []
            for t in range(self.timesteps):  # few ops per step: batch-1 latency is op count
                ci, vi = lif_step(cur[t], ci, vi, oi, self.alpha, self.beta, self.th, self.reset_mode, self.kmax)
                if self.kmax == 1:
                    oi = (vi > self.th).to(vi.dtype)
                else:  # multi-spike count: thresholds crossed, at most kmax
                    oi = torch.clamp(torch.ceil(vi / self.th) - 1.0, min=0.0, max=float(self.kmax))
                outs.append(oi)
            spikes = torch.stack(outs, dim=0)
            cs.append(ci)
            vs.append(vi)
            os_.append(oi)
            i += 1
        if self.membrane:
            mean = torch.nn.functional.linear((spikes * self.dec_k).sum(dim=0), self.dec_w, self.dec_b)
        else:
            rates = spikes.mean(dim=0).view(-1, self.num_actions, self.pop_out)
            mean = (rates * self.dec_w).sum(dim=-1) + self.dec_b
        if self.tanh:
            mean = torch.tanh(mean)
        return mean, self._pad(cs, c), self._pad(vs, v), self._pad(os_, o)

    def _pad(self, parts: list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(like)
        for i, p in enumerate(parts):
            out[i, :, : p.shape[1]] = p
        return out

    def zero_state(self, n: int) -> torch.Tensor:
        return torch.zeros(len(self.widths), n, max(self.widths))


class ExportedSNN(nn.Module):
    """TorchScript export: ``forward(obs) -> actions`` (stack) or ``forward(obs, c, v, o)`` (membrane)."""

    def __init__(self, normalizer: nn.Module, network, recurrent: bool) -> None:
        super().__init__()
        self.core = SNNCore(normalizer, network)
        self.recurrent = recurrent
        self.num_layers = len(self.core.widths)
        self.max_width = max(self.core.widths)
        self.c = torch.zeros(self.num_layers, 1, self.max_width)
        self.v = torch.zeros(self.num_layers, 1, self.max_width)
        self.o = torch.zeros(self.num_layers, 1, self.max_width)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        z = torch.zeros(self.num_layers, obs.shape[0], self.max_width)
        if self.recurrent:
            mean, c, v, o = self.core(obs, self.c, self.v, self.o)
            self.c, self.v, self.o = c, v, o
            return mean
        return self.core(obs, z, z, z)[0]

    @torch.jit.export
    def reset(self) -> None:
        """Zero the carried membrane state (membrane mode; batch size 1)."""
        self.c = torch.zeros(self.num_layers, 1, self.max_width)
        self.v = torch.zeros(self.num_layers, 1, self.max_width)
        self.o = torch.zeros(self.num_layers, 1, self.max_width)


class OnnxSNN(nn.Module):
    """ONNX export; membrane mode has the state as explicit inputs/outputs."""

    def __init__(self, normalizer: nn.Module, network, recurrent: bool, obs_dim: int) -> None:
        super().__init__()
        self.core = SNNCore(normalizer, network)
        self.recurrent = recurrent
        self.obs_dim = obs_dim

    def forward(self, obs: torch.Tensor, c: torch.Tensor | None = None, v: torch.Tensor | None = None,
                o: torch.Tensor | None = None):
        if not self.recurrent:
            z = self.core.zero_state(obs.shape[0])
            return self.core(obs, z, z, z)[0]
        return self.core(obs, c, v, o)

    def get_dummy_inputs(self):
        obs = torch.zeros(1, self.obs_dim)
        if not self.recurrent:
            return (obs,)
        z = self.core.zero_state(1)
        return (obs, z, z.clone(), z.clone())

    @property
    def input_names(self) -> list[str]:
        return ["obs", "c_in", "v_in", "o_in"] if self.recurrent else ["obs"]

    @property
    def output_names(self) -> list[str]:
        return ["actions", "c_out", "v_out", "o_out"] if self.recurrent else ["actions"]
