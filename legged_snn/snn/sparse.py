"""Linear layers driven by 0/1 spikes, computed from the active inputs only.

Spiking inputs are mostly silent (encoder ~10%, hidden layers often less), so ``W x`` is the sum of the
weight columns of the inputs that fired: ``F.embedding_bag`` (mode "sum", FBGEMM's kernel on CPU) over the spike
indices in CSR form, built by a parallel numba pass (torch.nonzero is single-threaded and was the bottleneck).
The weight gradient ``G^T X`` is a scatter-add of the gradient rows into the columns that fired (one pass over
the gradient). Where inputs fire at several of the T steps, ``CodedCsr`` holds each input's spike train as a
code and adds its weight row once per sample, not once per spike. The input gradient ``G W`` stays a dense matmul
(bf16 under mixed precision). Above ``DENSE_ABOVE`` density, or off the CPU, the plain matmul is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import torch
import torch.nn.functional as F

from legged_snn.snn import code_kernels, kernels

DENSE_ABOVE = 0.25
"""Spike density above which the dense matmul is used."""
MAX_CODE_STEPS = 12
"""Longest spike train (T) grouped by code (CodedCsr); the histogram has 2**T entries."""
CODE_COST = 1.0
"""Cost of adding one code's partial sum to one step, in row additions (CodedCsr)."""
PAYS_BELOW = 0.8
"""Group by code when its row additions (one per active column + CODE_COST per step of each code a sample uses)
are below this share of the plain CSR's (one per spike): measured, the coded kernels add rows at ~0.7x the speed
of FBGEMM's embedding_bag but build their form ~4x faster than the CSR."""


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

    def matmul(self, table: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """(rows, cols) 0/1 @ (cols, H) table (+ bias) -> (rows, H)."""
        out = F.embedding_bag(self.indices, table, self.offsets, mode="sum")
        return out.add_(bias) if bias is not None else out

    def t_matmul(self, grad: torch.Tensor) -> torch.Tensor:
        """(rows, cols)^T 0/1 @ (rows, H) grad -> (cols, H): scatter-add of grad rows, one pass over grad."""
        g = grad.detach().contiguous()
        parts = max(1, min(numba.get_num_threads(), self.rows))
        out = np.zeros((parts, self.cols, g.shape[1]), dtype=g.numpy().dtype)
        kernels.csr_scatter_add(self.indices.numpy(), self.offsets.numpy(), self.nnz, g.numpy(), out)
        return torch.from_numpy(out.sum(axis=0) if parts > 1 else out[0])


@dataclass
class CodedCsr:
    """(T*N, K) 0/1 spikes (t-major rows) held per (n, k) as a code, the spike train over T as bits. ``W x_t`` sums
    each active column's weight row once into its code's partial sum and adds those to the steps where the code
    spikes (numba, ``code_kernels.coded_matmul``), so a column that spikes at several steps costs one row addition, not
    one per spike. Same interface as ``Csr``."""

    codes: np.ndarray  # (N, K) uint16 code per sample and column (bit t: spike at step t), 0 = silent
    slot: np.ndarray  # (2**T,) code -> index into present, -1 for 0 and absent codes
    present: np.ndarray  # (C,) the nonzero codes that occur
    nnz: int  # spikes
    T: int

    @property
    def rows(self) -> int:
        return self.T * self.codes.shape[0]

    @property
    def cols(self) -> int:
        return self.codes.shape[1]

    @property
    def density(self) -> float:
        return self.nnz / max(self.rows * self.cols, 1)

    def matmul(self, table: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """(T*N, K) 0/1 @ (K, H) table (+ bias) -> (T*N, H)."""
        t = table.detach().contiguous()
        b = bias.detach().contiguous() if bias is not None else torch.zeros(t.shape[1], dtype=t.dtype)
        out = torch.empty(self.T, self.codes.shape[0], t.shape[1], dtype=t.dtype)
        blocks = max(1, min(numba.get_num_threads(), self.codes.shape[0]))
        code_kernels.coded_matmul(self.codes, self.slot, self.present, t.numpy(), b.numpy(), out.numpy(), blocks)
        return out.view(self.rows, -1)

    def t_matmul(self, grad: torch.Tensor) -> torch.Tensor:
        """(T*N, K)^T 0/1 @ (T*N, H) grad -> (K, H)."""
        g = grad.detach().contiguous().view(self.T, self.codes.shape[0], -1)
        parts = max(1, min(numba.get_num_threads(), self.codes.shape[0]))
        out = np.zeros((parts, self.cols, g.shape[2]), dtype=g.numpy().dtype)
        code_kernels.coded_t_matmul(self.codes, self.slot, self.present, g.numpy(), out)
        return torch.from_numpy(out.sum(axis=0) if parts > 1 else out[0])

    def to_dense(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The (T*N, K) 0/1 matrix."""
        codes = torch.from_numpy(self.codes.astype(np.int32))
        steps = torch.stack([(codes >> t) & 1 for t in range(self.T)])  # (T, N, K)
        return steps.to(dtype).view(self.rows, self.cols)


def coded_from_codes(codes: np.ndarray, hist: np.ndarray, adds: np.ndarray, T: int) -> CodedCsr | None:
    """CodedCsr of spikes given as per-(n, k) codes (N, K), their histogram (B, 2**T) and (code, step) additions
    (B,) from the code kernels; None where grouping does not pay (few columns spike at more than one step)."""
    per_code = hist.sum(axis=0)
    present = np.flatnonzero(per_code[1:]) + 1
    popcount = np.array([bin(c).count("1") for c in present], dtype=np.int64)
    union = int(per_code[present].sum())
    nnz = int((per_code[present] * popcount).sum())
    if union == 0 or union + CODE_COST * int(adds.sum()) > PAYS_BELOW * nnz:
        return None
    slot = np.full(hist.shape[1], -1, dtype=np.int64)
    slot[present] = np.arange(len(present))
    return CodedCsr(codes, slot, present.astype(np.int64), nnz, T)


def code_hist(T: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Zeroed per-thread-block code histogram (B, 2**T) and (code, step) additions (B,) for the code kernels."""
    blocks = max(1, min(numba.get_num_threads(), N))
    return np.zeros((blocks, 1 << T), dtype=np.int64), np.zeros(blocks, dtype=np.int64)


def group_by_train(T: int, N: int, K: int, fill: Callable[[np.ndarray], None]) -> CodedCsr | None:
    """CodedCsr of (T, N, K) spikes whose codes a kernel writes: ``fill(codes (N, K) uint16)``
    (``code_kernels.encode_codes`` or ``dense_codes``); None where T is out of range or grouping does not pay."""
    if not 1 < T <= MAX_CODE_STEPS:
        return None
    codes = np.empty((N, K), dtype=np.uint16)
    fill(codes)
    hist, adds = code_hist(T, N)
    code_kernels.block_stats(codes, hist, adds)
    return coded_from_codes(codes, hist, adds, T)


def pattern_from_dense(x: torch.Tensor) -> Csr | CodedCsr:
    """The sparse form of (T, N, K) 0/1 CPU spikes over T*N t-major rows: grouped by code where that pays, else CSR."""
    T, N, K = x.shape
    arr = x.detach().contiguous().numpy()
    coded = group_by_train(T, N, K, lambda codes: code_kernels.dense_codes(arr, codes))
    return coded if coded is not None else csr_from_dense(x.reshape(T * N, K))


def _csr_filled(x: np.ndarray, counts: np.ndarray, multi: bool = False) -> Csr:
    """CSR of a (R, K) numpy array with ``counts`` (R,) entries per row, written by ``kernels.fill_csr`` (``multi``:
    integer counts; the flag is passed only when set, so the 0/1 call compiles without the branch)."""
    offsets = np.zeros(x.shape[0], dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    nnz = int(offsets[-1] + counts[-1]) if x.shape[0] else 0
    indices = np.empty(nnz, dtype=np.int64)
    if multi:
        kernels.fill_csr(x, offsets, indices, True)
    else:
        kernels.fill_csr(x, offsets, indices)
    return Csr(torch.from_numpy(indices), torch.from_numpy(offsets), x.shape[0], x.shape[1])


def csr_from_counts(x: np.ndarray, counts: np.ndarray) -> Csr:
    """CSR of a (R, K) 0/1 numpy array whose per-row nonzero counts are known."""
    return _csr_filled(x, counts)


def csr_from_dense(x: torch.Tensor) -> Csr:
    """CSR of a (R, K) 0/1 CPU tensor (two parallel passes)."""
    arr = x.detach().contiguous().numpy()
    counts = np.empty(arr.shape[0], dtype=np.int64)
    kernels.row_counts(arr, counts)
    return csr_from_counts(arr, counts)


def csr_from_count_values(x: torch.Tensor) -> Csr:
    """CSR of (..., K) non-negative integer spike counts over the flattened rows, each column index repeated as often
    as its count: its products are exact for counts as they are for 0/1 spikes. The same kernels as
    ``csr_from_dense`` with ``multi=True``; left out there, the flag is a compile-time False (no cost on 0/1 spikes)."""
    arr = x.detach().reshape(-1, x.shape[-1]).contiguous().numpy()
    counts = np.empty(arr.shape[0], dtype=np.int64)
    kernels.row_counts(arr, counts, True)
    return _csr_filled(arr, counts, multi=True)


def forward_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                   csr: Csr | CodedCsr | None = None, counts: bool = False
                   ) -> tuple[torch.Tensor, Csr | CodedCsr | None]:
    """(T, N, K) or (R, K) 0/1 x -> (x W^T + b over the T*N (or R) rows, the sparse form used or None for the dense
    path). ``x`` may be None when ``csr`` is given. ``counts``: x holds integer spike counts (multi-spike neurons)."""
    on_cpu = x is None or x.device.type == "cpu"
    # counts: the CSR's nnz is their sum, so a dense count matrix goes to the matmul without building the CSR first
    dense_counts = on_cpu and csr is None and counts and float(x.sum()) >= DENSE_ABOVE * x.numel()
    if on_cpu and not dense_counts:
        if csr is None and counts:
            csr = csr_from_count_values(x)
        if csr is None:
            csr = pattern_from_dense(x) if x.dim() == 3 else csr_from_dense(x)
        if csr.density < DENSE_ABOVE:
            return csr.matmul(weight.t().contiguous(), bias), csr
    flat = x.reshape(-1, x.shape[-1])
    return torch.addmm(bias, flat.to(weight.dtype), weight.t()), None


def weight_grad(x: torch.Tensor, grad: torch.Tensor, csr: Csr | CodedCsr | None) -> torch.Tensor:
    """G^T X (H, K) for 0/1 x (R, K) and output gradient G (R, H)."""
    if csr is not None:
        return csr.t_matmul(grad).t()
    return grad.t() @ x.reshape(-1, x.shape[-1]).to(grad.dtype)


def dense_mm(a: torch.Tensor, b: torch.Tensor, bf16: bool) -> torch.Tensor:
    """a @ b, in bf16 (float32 result) when ``bf16``: the dense gradient products under mixed precision."""
    if bf16 and a.dtype == torch.float32:
        return (a.to(torch.bfloat16) @ b.to(torch.bfloat16)).float()
    return a @ b


class SpikeLinear(torch.autograd.Function):
    """y = x W^T + b for 0/1 ``x`` (T, N, K) -> (T*N, H); gradients for W, b and (densely) x. The forward and
    the weight gradient are exact sums of weight (gradient) rows; ``bf16`` computes the input gradient G W in
    bf16 (mixed precision)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, bf16: bool = False,
                counts: bool = False):
        out, ctx.csr = forward_linear(x, weight, bias, counts=counts)
        ctx.bf16 = bf16
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        g_x = dense_mm(grad, weight, ctx.bf16).view(x.shape) if ctx.needs_input_grad[0] else None
        return g_x, weight_grad(x, grad, ctx.csr), grad.sum(dim=0), None, None


def spike_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, bf16: bool = False,
                 counts: bool = False) -> torch.Tensor:
    """(T, N, K) 0/1 spikes (or any (..., K); ``counts``: integer spike counts) -> (..., H) currents through
    SpikeLinear."""
    lead = x.shape[:-1]
    x3 = x if x.dim() == 3 else x.reshape(1, -1, x.shape[-1])
    out = SpikeLinear.apply(x3, weight, bias, bf16, counts)
    return out.view(*lead, -1)
