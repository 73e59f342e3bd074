"""Linear layers driven by 0/1 spikes, computed from the active inputs only.

Spiking inputs are mostly silent (encoder ~10%, hidden layers often less), so ``W x`` is the sum of the
weight columns of the inputs that fired: ``F.embedding_bag`` (mode "sum", FBGEMM's kernel on CPU) over the spike
indices in CSR form, built by a parallel numba pass (torch.nonzero is single-threaded and was the bottleneck).
The weight gradient ``G^T X`` is the same operation on the transposed pattern (CSC: for each input, the rows
where it fired). The input gradient ``G W`` stays a dense matmul. Above ``DENSE_ABOVE`` density, or off the CPU,
the plain matmul is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import torch
import torch.nn.functional as F

from legged_snn.snn import kernels

DENSE_ABOVE = 0.25
"""Spike density above which the dense matmul is used."""


@dataclass
class Csr:
    """The ones of a (rows, cols) 0/1 matrix: ``indices[offsets[r]:offsets[r+1]]`` are row r's columns."""

    indices: torch.Tensor  # (nnz,) int64
    offsets: torch.Tensor  # (rows,) int64, start of each row
    rows: int
    cols: int

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    @property
    def density(self) -> float:
        return self.nnz / max(self.rows * self.cols, 1)

    def to_dense(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The (rows, cols) 0/1 matrix."""
        counts = torch.diff(self.offsets, append=torch.tensor([self.nnz]))
        out = torch.zeros(self.rows, self.cols, dtype=dtype)
        out[torch.repeat_interleave(torch.arange(self.rows), counts), self.indices] = 1.0
        return out

    def matmul(self, table: torch.Tensor) -> torch.Tensor:
        """(rows, cols) 0/1 @ (cols, H) table -> (rows, H)."""
        return F.embedding_bag(self.indices, table, self.offsets, mode="sum")

    def t_matmul(self, grad: torch.Tensor) -> torch.Tensor:
        """(rows, cols)^T 0/1 @ (rows, H) grad -> (cols, H): scatter-add of grad rows, one pass over grad."""
        g = grad.detach().contiguous()
        parts = max(1, min(numba.get_num_threads(), self.rows))
        out = np.zeros((parts, self.cols, g.shape[1]), dtype=g.numpy().dtype)
        kernels.csr_scatter_add(self.indices.numpy(), self.offsets.numpy(), self.nnz, g.numpy(), out)
        return torch.from_numpy(out.sum(axis=0) if parts > 1 else out[0])

    def transpose(self) -> Csr:
        """The transposed pattern (for each column, the rows where it is one)."""
        col_offsets = np.empty(self.cols, dtype=np.int64)
        rows = np.empty(self.nnz, dtype=np.int64)
        kernels.transpose_csr(self.indices.numpy(), self.offsets.numpy(), self.nnz, self.cols, col_offsets, rows)
        return Csr(torch.from_numpy(rows), torch.from_numpy(col_offsets), self.cols, self.rows)


def csr_from_counts(x: np.ndarray, counts: np.ndarray) -> Csr:
    """CSR of a (R, K) 0/1 numpy array whose per-row nonzero counts are known."""
    offsets = np.zeros(x.shape[0], dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    nnz = int(offsets[-1] + counts[-1]) if x.shape[0] else 0
    indices = np.empty(nnz, dtype=np.int64)
    kernels.fill_csr(x, offsets, indices)
    return Csr(torch.from_numpy(indices), torch.from_numpy(offsets), x.shape[0], x.shape[1])


def csr_from_dense(x: torch.Tensor) -> Csr:
    """CSR of a (R, K) 0/1 CPU tensor (two parallel passes)."""
    arr = x.detach().contiguous().numpy()
    counts = np.empty(arr.shape[0], dtype=np.int64)
    kernels.row_counts(arr, counts)
    return csr_from_counts(arr, counts)


def forward_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                   csr: Csr | None = None) -> tuple[torch.Tensor, Csr | None]:
    """(R, K) 0/1 x -> (x W^T + b, the CSR used or None for the dense path)."""
    if x is None or x.device.type == "cpu":
        csr = csr if csr is not None else csr_from_dense(x)
        if csr.density < DENSE_ABOVE:
            return csr.matmul(weight.t().contiguous()).add_(bias), csr
    return torch.addmm(bias, x.to(weight.dtype), weight.t()), None


def weight_grad(x: torch.Tensor, grad: torch.Tensor, csr: Csr | None) -> torch.Tensor:
    """G^T X (H, K) for 0/1 x (R, K) and output gradient G (R, H)."""
    if csr is not None:
        return csr.t_matmul(grad).t()
    return grad.t() @ x.to(grad.dtype)


class SpikeLinear(torch.autograd.Function):
    """y = x W^T + b for 0/1 ``x`` (R, K); gradients for W, b and (densely) x."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
        out, ctx.csr = forward_linear(x, weight, bias)
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        g_x = grad @ weight if ctx.needs_input_grad[0] else None
        return g_x, weight_grad(x, grad, ctx.csr), grad.sum(dim=0)


def spike_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """(..., K) 0/1 spikes -> (..., H) currents through SpikeLinear."""
    lead = x.shape[:-1]
    out = SpikeLinear.apply(x.reshape(-1, x.shape[-1]), weight, bias)
    return out.view(*lead, -1)
