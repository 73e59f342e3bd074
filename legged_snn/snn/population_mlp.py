"""An MLP actor that reads the spiking actor's population code: a controlled experiment, not a deployable actor.

``policy.mlp_input``: ``population`` feeds the MLP the encoder's Gaussian receptive-field stimulation A (N, D * P),
``population_counts`` the rate the deterministic encoder's spike trains carry over T steps (A quantized to T + 1
levels, no gradient to the fields), ``raw`` the observation itself. ``policy.mlp_lr_scale`` g steps the actor's
parameters at g x the optimizer's rate (the spiking actor's ``snn.lr_scale``); ``policy.mlp_weight_centering``
reparametrizes the hidden layers' weights as the spiking actor's ``snn.weight_centering`` does (centering.py), and
``policy.mlp_init_gain`` scales their initial weights and biases (``snn.init_gain``).
Everything else is rsl-rl's MLPModel (ELU, linear head), so a run with it against the plain MLP changes only the
one setting (docs/snn_ppo.md).
"""

from __future__ import annotations

import torch
from rsl_rl.models import MLPModel
from rsl_rl.modules import MLP
from tensordict import TensorDict
from torch import nn

from legged_snn.snn.centering import center_weights, hold_stored
from legged_snn.snn.encoders import PopulationEncoder
from legged_snn.snn.step_scale import scale_steps


def check_init_gain(gain) -> None:
    """A one-line ValueError unless ``policy.mlp_init_gain`` is a finite number > 0."""
    if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not 0 < gain < float("inf"):
        raise ValueError(f"policy.mlp_init_gain must be a finite number > 0, got {gain!r}")


class PopulationMLP(MLPModel):
    """Normalization -> population stimulation (or its spike rate) -> MLP -> Gaussian."""

    def __init__(self, obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str, output_dim: int,
                 hidden_dims: tuple[int, ...] | list[int] = (512, 256, 128), activation: str = "elu",
                 obs_normalization: bool = True, distribution_cfg: dict | None = None,
                 mlp_input: str = "population", pop_in: int = 10, timesteps: int = 5,
                 mu_range: tuple[float, float] = (-3.0, 3.0), sigma2: float = 0.15, lr_scale: float = 1.0,
                 weight_centering: bool | str = False, init_gain: float = 1.0) -> None:
        super().__init__(obs, obs_groups, obs_set, output_dim, hidden_dims, activation, obs_normalization,
                         distribution_cfg)
        self.mlp_input = mlp_input
        if mlp_input != "raw":
            self.encoder = PopulationEncoder(self.obs_dim, pop_in, timesteps, tuple(mu_range), sigma2)
            out = self.distribution.input_dim if self.distribution is not None else output_dim
            self.mlp = MLP(self.encoder.out_features, out, list(hidden_dims), activation)  # (N, D * P) -> (N, out)
            if self.distribution is not None:
                self.distribution.init_mlp_weights(self.mlp)
        hidden = [m for m in self.mlp if isinstance(m, nn.Linear)][:-1]
        check_init_gain(init_gain)
        with torch.no_grad():  # policy.mlp_init_gain: the hidden layers' initial scale (held by "sphere")
            for fc in hidden:
                fc.weight.mul_(init_gain)
                fc.bias.mul_(init_gain)
        if weight_centering:  # every hidden layer, not the linear head
            center_weights(hidden, weight_centering)
        # "sphere": the stored rows held after each optimizer step too, as the spiking actor's (rl/hooks.py)
        self.sphere_linears = hidden if weight_centering == "sphere" else []
        scale_steps(self.mlp, lr_scale)  # policy.mlp_lr_scale: the actor's step, as snn.lr_scale (step_scale.py)

    def after_step(self, optimizer: torch.optim.Optimizer, *_args) -> None:
        """An optimizer step post-hook: "sphere" hidden layers' stored rows (and Adam's moments) back to their held
        norms (centering.hold_stored); nothing for the other modes."""
        hold_stored(self.sphere_linears, optimizer)

    def get_latent(self, obs: TensorDict, masks: torch.Tensor | None = None, hidden_state=None) -> torch.Tensor:
        """(N, D) observation groups -> (N, D * P) input code in [0, 1] (``mlp_input`` is checked by the config:
        anything but ``population_counts`` reads the stimulation)."""
        x = super().get_latent(obs, masks, hidden_state)
        if self.mlp_input == "raw":
            return x
        a = self.encoder.stimulation(x)
        return self.encoder.rate(a, None) if self.mlp_input == "population_counts" else a

    def as_jit(self):
        raise NotImplementedError("policy.mlp_input=population*, mlp_lr_scale, mlp_weight_centering or "
                                  "mlp_init_gain is a diagnostic actor (docs/snn_ppo.md); it is not "
                                  "exported: train with --actor mlp or --actor snn to deploy")

    def as_onnx(self, verbose: bool = False):
        return self.as_jit()
