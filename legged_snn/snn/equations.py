"""The spiking actor's equations, each written once in plain torch ops (TorchScript- and ONNX-traceable).

The training path's numba kernels (kernels.py, code_kernels.py) are the fast copies of these; tests pin them to
these functions. Everything else (the torch training loop, the autograd reference, the TorchScript/ONNX exports)
calls them.
"""

from __future__ import annotations

import torch


def receptive_fields(x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian receptive fields (PopSAN): (N, D) clamped observation, (D, P) centres and widths -> stimulation
    A = exp(-(x - mu)^2 / (2 sigma^2)) in [0, 1], (N, D * P)."""
    return torch.exp(-0.5 * (x.unsqueeze(-1) - mu).square() / sigma.square()).flatten(1)


def encoder_counts(a: torch.Tensor, steps: torch.Tensor, threshold: float) -> torch.Tensor:
    """The deterministic encoder's spike count by each step: ``steps`` (S,) step numbers 1..T, (N, K) stimulation
    -> (S, N, K) counts ceil(t A / th) - 1 (at least 0), the closed form of an integrate-and-fire neuron driven by A
    (PopSAN's deterministic encoder)."""
    return torch.clamp(torch.ceil(steps.view(-1, 1, 1) * a / threshold) - 1.0, min=0.0)


def encoder_spikes(a: torch.Tensor, steps: torch.Tensor, threshold: float) -> torch.Tensor:
    """(N, K) stimulation -> (T, N, K) deterministic encoder spikes: the increments of ``encoder_counts``."""
    counts = encoder_counts(a, steps, threshold)
    return counts - torch.cat([torch.zeros_like(counts[:1]), counts[:-1]], dim=0)


def lif_step(current: torch.Tensor, c: torch.Tensor, v: torch.Tensor, o: torch.Tensor, alpha: float, beta: float,
             threshold: float, reset: int, max_spikes: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of current-based LIF neurons (all (N, H)): input current, previous current c, voltage v and spikes o
    (counts when ``max_spikes`` > 1) -> the new (c, v). ``reset`` 0 zero, 1 subtract, 2 popsan (neurons.py):

        c' = alpha c + I;   zero: v' = (beta v + c') (1 - o);   subtract: v' = beta v + c' - th o;
        popsan: v' = beta v (1 - o) + c'   (o clamped to 1 as a reset gate)

    Pass ``o`` detached where the reset must not carry gradient."""
    c = torch.add(current, c, alpha=alpha)
    fired = o if max_spikes == 1 else o.clamp(max=1.0)
    if reset == 0:
        v = torch.add(c, v, alpha=beta) * (1.0 - fired)
    elif reset == 1:
        v = torch.add(torch.add(c, v, alpha=beta), o, alpha=-threshold)
    else:
        v = torch.addcmul(c, v, 1.0 - fired, value=beta)
    return c, v
