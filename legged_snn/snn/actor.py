"""SpikingActor: the rsl-rl 5.5 model contract around the spiking network.

``class_name: "legged_snn.snn.actor:SpikingActor"``. Two history modes:
- ``stack``: stateless per control step (PopSAN: state zeroed every step); history, if any, arrives as extra
  observation groups (stacked frames), each dimension encoded as its own input population.
- ``membrane``: LIF state carried across control steps (a recurrent rsl-rl model). The hidden state is
  (c, v, o), each [layers, envs, max width] zero-padded, reset only for envs that finished.
"""

from __future__ import annotations

import math

import torch
from rsl_rl.models import MLPModel
from rsl_rl.utils import unpad_trajectories
from tensordict import TensorDict

from legged_snn.snn.anneal import check_anneal
from legged_snn.snn.centering import check_centering, check_spike_step
from legged_snn.snn.decoders import check_decoder
from legged_snn.snn.direct import ENCODER_MODES
from legged_snn.snn.export import ExportedSNN, OnnxSNN
from legged_snn.snn.network import SpikingNetwork
from legged_snn.snn.neurons import NeuronCfg
from legged_snn.snn.rate_grad import check_gradient

HISTORY_MODES = ("stack", "membrane")


def check_snn_config(cfg: dict) -> None:
    """One-line ValueError for a bad SpikingActor setting, naming the field and the allowed values."""
    if cfg.get("history", "stack") not in HISTORY_MODES:
        raise ValueError(f"snn.history must be one of {list(HISTORY_MODES)}, got {cfg['history']!r}")
    if int(cfg.get("timesteps", 5)) < 1:
        raise ValueError(f"snn.timesteps (T) must be >= 1, got {cfg['timesteps']}")
    for key in ("pop_in", "pop_out"):
        if int(cfg.get(key, 10)) < 2:
            raise ValueError(f"snn.{key} (P) must be >= 2, got {cfg[key]}")
    if cfg.get("encoder_mode", "deterministic") not in ENCODER_MODES:
        raise ValueError(f"snn.encoder_mode must be one of {list(ENCODER_MODES)}, got {cfg['encoder_mode']!r}")
    for key in ("readout_gain", "init_gain", "lr_scale", "norm_lr_scale"):
        if not 0 < float(cfg.get(key, 1.0)) < math.inf:
            raise ValueError(f"snn.{key} must be a finite number > 0, got {cfg[key]}")
    check_centering(cfg.get("weight_centering", False), "snn.weight_centering")
    check_spike_step(cfg.get("spike_step_scale", 1.0), cfg.get("weight_centering", False))
    bias = cfg.get("bias_lr_scale")
    if bias is not None and not (isinstance(bias, (int, float)) and not isinstance(bias, bool) and 0 < bias < math.inf):
        raise ValueError(f"snn.bias_lr_scale must be a finite number > 0 or null (= lr_scale), got {bias!r}")
    if float(cfg.get("rate_reg", 0.0)) < 0:
        raise ValueError(f"snn.rate_reg must be >= 0, got {cfg['rate_reg']}")
    check_anneal(cfg.get("anneal"))
    check_decoder(cfg.get("decoder", "membrane"), cfg.get("decoder_leak", 0.0), cfg.get("decoder_read", "last"))
    check_gradient(cfg.get("gradient", "bptt"), cfg.get("history", "stack"))
    unknown = set(cfg.get("neuron", {})) - set(NeuronCfg.__dataclass_fields__)
    if unknown:
        known = sorted(NeuronCfg.__dataclass_fields__)
        raise ValueError(f"snn.neuron has unknown field(s) {sorted(unknown)}; known: {known}")
    NeuronCfg(**cfg.get("neuron", {})).validate("snn.neuron")


def _network_keys_of_old_checkpoints(module, state_dict: dict, prefix: str, *_) -> None:
    """Checkpoints written before the network had its own name hold it under ``mlp.``: read those as
    ``network.`` (a load_state_dict pre-hook; edits ``state_dict`` in place)."""
    old = prefix + "mlp."
    for key in [k for k in state_dict if k.startswith(old)]:
        state_dict[prefix + "network." + key[len(old):]] = state_dict.pop(key)


class SpikingActor(MLPModel):
    """Normalization -> population encoder -> LIF layers -> decoder (membrane or rate) -> Gaussian."""

    def __init__(self, obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str, output_dim: int,
                 hidden_dims: tuple[int, ...] | list[int] = (512, 256, 128), obs_normalization: bool = True,
                 distribution_cfg: dict | None = None, timesteps: int = 5, pop_in: int = 10, pop_out: int = 10,
                 neuron: dict | None = None, encoder_mode: str = "deterministic", history: str = "stack",
                 mu_range: tuple[float, float] = (-3.0, 3.0), sigma2: float = 0.15, tanh: bool = False,
                 rate_reg: float = 0.0, readout_gain: float = 1.0, anneal: list[int] | None = None,
                 init_gain: float = 1.0, decoder: str = "membrane",
                 decoder_leak: float = 0.0, decoder_read: str = "last", lr_scale: float = 1.0,
                 gradient: str = "bptt", weight_centering: bool | str = False,
                 bias_lr_scale: float | None = None, norm_lr_scale: float = 0.1,
                 spike_step_scale: float = 1.0) -> None:
        check_snn_config({"history": history, "timesteps": timesteps, "pop_in": pop_in, "pop_out": pop_out,
                          "encoder_mode": encoder_mode, "neuron": neuron or {}, "rate_reg": rate_reg,
                          "readout_gain": readout_gain, "anneal": anneal, "init_gain": init_gain,
                          "decoder": decoder, "decoder_leak": decoder_leak, "decoder_read": decoder_read,
                          "lr_scale": lr_scale, "gradient": gradient, "weight_centering": weight_centering,
                          "bias_lr_scale": bias_lr_scale, "norm_lr_scale": norm_lr_scale,
                          "spike_step_scale": spike_step_scale})
        self.is_recurrent = history == "membrane"
        super().__init__(obs, obs_groups, obs_set, output_dim, hidden_dims=[1], activation="elu",
                         obs_normalization=obs_normalization, distribution_cfg=distribution_cfg)
        neuron_cfg = NeuronCfg(**(neuron or {}))
        neuron_cfg.validate("snn.neuron")
        self.history = history
        del self.mlp  # rsl-rl's MLPModel builds an MLP in __init__; this actor's network has its own name
        self.register_load_state_dict_pre_hook(_network_keys_of_old_checkpoints)
        self.network = SpikingNetwork(self.obs_dim, output_dim, list(hidden_dims), timesteps, pop_in, pop_out,
                                      neuron_cfg, encoder_mode, tuple(mu_range), sigma2, tanh, readout_gain,
                                      init_gain, decoder, decoder_leak, decoder_read, lr_scale, gradient,
                                      weight_centering, bias_lr_scale, norm_lr_scale, spike_step_scale)
        self.network.rate_reg = float(rate_reg)
        self.anneal = check_anneal(anneal)  # (start, end) iterations of smooth -> spiking, or None (anneal.py)
        self.hidden_dims = list(hidden_dims)
        self.hidden_state: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    # ---------------------------------------------------------------------------- hidden state
    def _widths(self) -> list[int]:
        return [layer.out_features for layer in self.network.layers]

    def _pack(self, state: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-layer (c, v, o) list -> three [L, N, max width] tensors."""
        n, w = state[0][0].shape[0], max(self._widths())
        packed = []
        for k in range(3):
            t = state[0][k].new_zeros(len(state), n, w)
            for i, s in enumerate(state):
                t[i, :, : s[k].shape[1]] = s[k]
            packed.append(t)
        return packed[0], packed[1], packed[2]

    def _unpack(self, packed) -> list:
        return [tuple(packed[k][i, :, :w] for k in range(3)) for i, w in enumerate(self._widths())]

    def _zero_state(self, n: int, like: torch.Tensor):
        z = like.new_zeros(len(self._widths()), n, max(self._widths()))
        return z, z.clone(), z.clone()

    # -------------------------------------------------------------------------------- forward
    def forward(self, obs: TensorDict, masks: torch.Tensor | None = None, hidden_state=None,
                stochastic_output: bool = False) -> torch.Tensor:
        """Action mean (or a sample) for obs; membrane mode steps the carried LIF state."""
        if not self.is_recurrent:
            obs = unpad_trajectories(obs, masks) if masks is not None else obs
            mean = self.network(self.get_latent(obs))
        elif masks is not None:  # PPO update: padded trajectories [S, B, ...] from their first states
            latent = self.get_latent(obs)
            state = self._unpack(hidden_state)
            outs = []
            for k in range(latent.shape[0]):
                m, state = self.network(latent[k], state)
                outs.append(m)
            mean = unpad_trajectories(torch.stack(outs), masks)
        else:  # rollout: one control step, state kept here
            latent = self.get_latent(obs)
            if self.hidden_state is None:
                self.hidden_state = self._zero_state(latent.shape[0], latent)
            mean, state = self.network(latent, self._unpack(self.hidden_state))
            self.hidden_state = self._pack(state)
        if self.distribution is not None:
            if stochastic_output:
                self.distribution.update(mean)
                return self.distribution.sample()
            return self.distribution.deterministic_output(mean)
        return mean

    def reset(self, dones: torch.Tensor | None = None, hidden_state=None) -> None:
        """Clear the membrane state of finished envs (all if ``dones`` is None)."""
        if not self.is_recurrent:
            return
        if dones is None:
            self.hidden_state = hidden_state
        elif self.hidden_state is not None:
            done = dones.bool().view(-1)
            for t in self.hidden_state:
                t[:, done] = 0.0

    def get_hidden_state(self):
        return self.hidden_state if self.is_recurrent else None

    def detach_hidden_state(self, dones: torch.Tensor | None = None) -> None:
        """Cut the carried state's graph: of every env (``dones`` None) or only of the finished ones (the others
        keep backpropagating through their state, as rsl-rl's RNN does)."""
        if not self.is_recurrent or self.hidden_state is None:
            return
        if dones is None:
            self.hidden_state = tuple(t.detach() for t in self.hidden_state)  # type: ignore[assignment]
            return
        done = dones.bool().view(-1)
        keep = (~done).to(self.hidden_state[0].dtype).view(1, -1, 1)
        # finished envs: the detached value; the others: the tensor itself, graph intact
        self.hidden_state = tuple(t * keep + t.detach() * (1.0 - keep) for t in self.hidden_state)  # type: ignore

    # --------------------------------------------------------------------------------- export
    def as_jit(self) -> torch.nn.Module:
        return ExportedSNN(self.obs_normalizer, self.network, self.is_recurrent)

    def as_onnx(self, verbose: bool = False) -> torch.nn.Module:
        """rsl-rl's export hook (``OnPolicyRunner.export_policy_to_onnx`` passes ``verbose``; nothing to print)."""
        return OnnxSNN(self.obs_normalizer, self.network, self.is_recurrent, self.obs_dim)
