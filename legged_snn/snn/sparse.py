"""Linear layers driven by 0/1 spikes, computed from the active inputs only.

Spiking inputs are mostly silent (encoder ~10%, hidden layers often less), so ``W x`` is the sum of the
weight columns of the inputs that fired: ``F.embedding_bag`` (mode "sum") over the spike indices, which on
CPU runs FBGEMM's vectorized kernel. The weight gradient ``G^T X`` is the same operation on the transposed
spike pattern (sum of the output gradients of the rows where input f fired). The input gradient ``G W`` stays a
dense matmul. Above ``DENSE_ABOVE`` density the plain matmul is faster and is used instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DENSE_ABOVE = 0.25
"""Spike density above which the dense matmul is used (measured on a 2-core AVX-512 CPU)."""


def _bags(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, K) 0/1 -> (indices of the ones, row by row; offsets of each row's first index)."""
    rows, cols = x.nonzero(as_tuple=True)
    counts = torch.bincount(rows, minlength=x.shape[0])
    offsets = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    torch.cumsum(counts[:-1], dim=0, out=offsets[1:])
    return cols, offsets


def spike_matmul(x: torch.Tensor, weight_t: torch.Tensor) -> torch.Tensor:
    """(R, K) 0/1 spikes @ (K, H) -> (R, H), summing only the rows of weight_t the spikes select."""
    idx, off = _bags(x)
    return F.embedding_bag(idx, weight_t, off, mode="sum")


def forward_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """(R, K) 0/1 x -> (x W^T + b, whether the sparse path was taken)."""
    sparse = x.device.type == "cpu" and float(x.mean()) < DENSE_ABOVE
    if sparse:
        return spike_matmul(x, weight.t().contiguous()) + bias, True
    return torch.addmm(bias, x, weight.t()), False


def weight_grad(x: torch.Tensor, grad: torch.Tensor, sparse: bool) -> torch.Tensor:
    """G^T X (H, K) for 0/1 x (R, K) and output gradient G (R, H)."""
    if sparse:
        return spike_matmul(x.t(), grad.contiguous()).t()  # row f: sum of grad rows where x[:, f] = 1
    return grad.t() @ x


class SpikeLinear(torch.autograd.Function):
    """y = x W^T + b for 0/1 ``x`` (R, K); gradients for W, b and (densely) x."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
        out, ctx.sparse = forward_linear(x, weight, bias)
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        g_x = grad @ weight if ctx.needs_input_grad[0] else None
        return g_x, weight_grad(x, grad, ctx.sparse), grad.sum(dim=0)


def spike_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """(..., K) 0/1 spikes -> (..., H) currents through SpikeLinear."""
    lead = x.shape[:-1]
    out = SpikeLinear.apply(x.reshape(-1, x.shape[-1]), weight, bias)
    return out.view(*lead, -1)
