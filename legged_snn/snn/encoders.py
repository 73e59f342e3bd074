"""Population encoder (PopSAN): Gaussian receptive fields -> spike trains over T timesteps.

Each of the D observation dimensions drives P neurons with stimulation
``A = exp(-(s - mu)^2 / (2 sigma^2))``, mu evenly spaced over ``mu_range`` and sigma learnable.
Deterministic (regular) spikes: ``v += A; spike when v > th; v -= th`` (th = 0.999), whose spike count by
step t has the closed form ``ceil(t A / th) - 1``; probabilistic spikes: Bernoulli(A) each step.
Straight-through gradient: ``d spike_t / d A = 1``. Inputs are clamped to ``mu_range`` first, so a value
beyond the outermost centre drives that edge neuron instead of silencing the whole population.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from torch import nn

from legged_snn.snn import code_kernels, kernels
from legged_snn.snn.equations import encoder_counts, encoder_spikes, receptive_fields
from legged_snn.snn.sparse import CodedCsr, Csr, group_by_train, pattern_from_dense

MODES = ("deterministic", "probabilistic")


class _ReceptiveFields(torch.autograd.Function):
    """(N, D) obs, mu, sigma (D, P) -> A (N, D * P): exponents in one numba pass, exp by torch; gradients for mu
    and sigma (not obs) from the saved A."""

    @staticmethod
    def forward(ctx, obs: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        x, m, s = (t.detach().contiguous() for t in (obs, mu, sigma))
        out = torch.empty(x.shape[0], m.numel(), dtype=x.dtype)
        kernels.receptive_exponents(x.numpy(), m.numpy(), s.numpy(), out.numpy())
        out.exp_()
        ctx.save_for_backward(x, m, s, out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, m, s, stim = ctx.saved_tensors
        blocks = max(1, min(numba.get_num_threads(), x.shape[0]))
        g_mu = np.zeros((blocks, *m.shape), dtype=x.numpy().dtype)
        g_sigma = np.zeros_like(g_mu)
        kernels.receptive_fields_backward(x.numpy(), m.numpy(), s.numpy(), stim.numpy(),
                                          grad.detach().contiguous().numpy(), g_mu, g_sigma)
        return None, torch.from_numpy(g_mu.sum(axis=0)), torch.from_numpy(g_sigma.sum(axis=0))


SIGMA_MIN = 1e-3  # smallest receptive-field width used (normalized observation units)


class PopulationEncoder(nn.Module):
    """(N, D) normalized observation -> (T, N, D * P) spikes (dimension-major: d * P + p)."""

    def __init__(self, obs_dim: int, pop_size: int = 10, timesteps: int = 5,
                 mu_range: tuple[float, float] = (-3.0, 3.0), sigma2: float = 0.15, mode: str = "deterministic",
                 threshold: float = 0.999) -> None:
        super().__init__()
        if pop_size < 2:
            raise ValueError(f"encoder.pop_size must be >= 2, got {pop_size}")
        if timesteps < 1:
            raise ValueError(f"encoder.timesteps must be >= 1, got {timesteps}")
        if mode not in MODES:
            raise ValueError(f"encoder.mode must be one of {list(MODES)}, got {mode!r}")
        if sigma2 <= 0:
            raise ValueError(f"encoder.sigma2 must be > 0, got {sigma2}")
        self.obs_dim, self.pop_size, self.timesteps, self.mode, self.threshold = (
            obs_dim, pop_size, timesteps, mode, threshold)
        self.lo, self.hi = float(mu_range[0]), float(mu_range[1])  # input clamp (the initial centres' span)
        mu = torch.linspace(mu_range[0], mu_range[1], pop_size).repeat(obs_dim, 1)
        self.mu = nn.Parameter(mu)  # (D, P)
        self.sigma = nn.Parameter(torch.full((obs_dim, pop_size), sigma2 ** 0.5))  # (D, P)
        self.register_buffer("steps", torch.arange(1, timesteps + 1, dtype=torch.float32))

    @property
    def out_features(self) -> int:
        return self.obs_dim * self.pop_size

    def widths(self) -> torch.Tensor:
        """(D, P) the fields' widths as used: |sigma|, at least ``SIGMA_MIN`` (the fields divide by it). Identity
        (gradient 1) for every width the training has produced; a width driven through zero cannot divide by 0."""
        return self.sigma.abs().clamp_min(SIGMA_MIN)

    def stimulation(self, obs: torch.Tensor) -> torch.Tensor:
        """(N, D) -> A (N, D * P) in [0, 1]. The input is clamped to the initial centre span ``mu_range``, not to
        the learned centres' span: it bounds the normalized observation (ILC-SAN clips at 3 standard deviations),
        a property of the input; centres that drift outward still see the edge values, and a learned span could
        widen without bound."""
        obs = obs.clamp(self.lo, self.hi)
        if obs.device.type == "cpu" and obs.dtype in (torch.float32, torch.float64) and not obs.requires_grad:
            return _ReceptiveFields.apply(obs, self.mu, self.widths())
        return receptive_fields(obs, self.mu, self.widths())

    def hard_spikes(self, a: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(N, K) stimulation -> (T, N, K) 0/1 spikes, no gradient."""
        a = a.detach()
        if self.mode == "deterministic":
            return encoder_spikes(a, self.steps, self.threshold)
        rand = torch.rand((self.timesteps, *a.shape), generator=generator, device=a.device)
        return (rand < a).to(a.dtype)

    def rate(self, a: torch.Tensor, hard: torch.Tensor | None) -> torch.Tensor:
        """(N, K) stimulation -> each input's firing rate over the T steps (N, K): from ``hard`` (T, N, K) when given,
        else the deterministic encoder's closed form (its spike count is ceil(T A / th) - 1). No gradient."""
        if hard is not None:
            return hard.detach().mean(dim=0)
        T = self.timesteps
        return encoder_counts(a.detach(), self.steps[-1:], self.threshold)[0] / T  # the count after step T

    def encode(self, a: torch.Tensor, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor | None, Csr | CodedCsr | None]:
        """(N, K) stimulation -> spikes over T*N rows (t-major): (dense (T, N, K) or None, sparse form or None).

        On the CPU the deterministic encoder writes its sparse form directly (no dense spike tensor): each input's
        spike train as a code (``CodedCsr``) where that pays, else a CSR."""
        if self.mode == "deterministic" and a.device.type == "cpu" and a.dtype in (torch.float32, torch.float64):
            T, (N, K) = self.timesteps, a.shape
            stim = a.detach().contiguous().numpy()
            th = stim.dtype.type(self.threshold)
            coded = group_by_train(
                T, N, K, lambda codes: code_kernels.encode_codes(stim, T, th, codes))
            if coded is not None:  # grouped by spike train where that pays (sparse.CodedCsr)
                return None, coded
            counts = np.empty((T, N), dtype=np.int64)
            offsets = np.zeros(T * N, dtype=np.int64)
            kernels.encode_pass(stim, T, th, counts, offsets, offsets, False)
            flat = counts.reshape(T * N)
            np.cumsum(flat[:-1], out=offsets[1:])
            indices = np.empty(int(flat.sum()), dtype=np.int64)
            kernels.encode_pass(stim, T, th, counts, offsets, indices, True)
            return None, Csr(torch.from_numpy(indices), torch.from_numpy(offsets), T * N, K)
        hard = self.hard_spikes(a, generator)
        csr = pattern_from_dense(hard) if hard.device.type == "cpu" else None
        return hard, csr

    def forward(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(N, D) -> spikes (T, N, D * P), straight-through gradient to mu and sigma."""
        a = self.stimulation(obs)
        return self.hard_spikes(a, generator) + (a - a.detach()).unsqueeze(0)  # value = spikes, grad = identity
