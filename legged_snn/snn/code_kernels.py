"""CPU kernels (numba) for spike-train codes: each input column's T-step spike train as one integer code, so a
layer's product adds one precomputed row per distinct code instead of one per spike (``sparse.CodedSpikes``).

``encode_codes`` (from the encoder's stimulation) and ``dense_codes`` (from dense spikes) build the codes,
``block_stats`` their per-block histograms; ``coded_matmul`` / ``coded_t_matmul`` are the forward and
weight-gradient products.
"""

from __future__ import annotations

import numba
import numpy as np

from legged_snn.snn.kernels import spike_code


@numba.njit(cache=True)
def code_stats(row, seen, stamp, hist):  # pragma: no cover - compiled
    """Count one sample's codes into hist (2**T,) and return the steps of the distinct nonzero codes it uses: the
    sum of popcount(code) over them (seen[code] == stamp marks a code already counted for this sample; stamps must
    grow from sample to sample)."""
    total = 0
    for k in range(row.shape[0]):
        code = row[k]
        hist[code] += 1
        if code != 0 and seen[code] != stamp:
            seen[code] = stamp
            c = code
            while c:
                total += c & 1
                c >>= 1
    return total


@numba.njit(parallel=True, cache=True)
def block_stats(codes, hist, adds):  # pragma: no cover - compiled
    """hist (B, 2**T) counts the (N, K) codes per block of samples, adds (B,) the (code, step) pairs coded_matmul
    adds per sample (see code_stats)."""
    N = codes.shape[0]
    B = hist.shape[0]
    chunk = (N + B - 1) // B
    for blk in numba.prange(B):
        seen = np.zeros(hist.shape[1], dtype=np.int64)
        for n in range(blk * chunk, min(N, (blk + 1) * chunk)):
            adds[blk] += code_stats(codes[n], seen, n + 1, hist[blk])


@numba.njit(parallel=True, cache=True)
def encode_codes(stim, T, th, codes):  # pragma: no cover - compiled
    """Deterministic encoder as spike-train codes: codes[n, k] has bit t set where encode_pass spikes at step t
    (the same arithmetic)."""
    N, K = stim.shape
    for n in numba.prange(N):
        for k in range(K):
            codes[n, k] = spike_code(stim[n, k], T, th)


@numba.njit(parallel=True, cache=True)
def dense_codes(x, codes):  # pragma: no cover - compiled
    """(T, N, K) 0/1 spikes -> codes (N, K), bit t = spike at step t."""
    T, N, K = x.shape
    for n in numba.prange(N):
        for k in range(K):
            codes[n, k] = 0
        for t in range(T):
            for k in range(K):
                if x[t, n, k] != 0:
                    codes[n, k] |= 1 << t


@numba.njit(cache=True)
def codes_used(row, slot, used):  # pragma: no cover - compiled
    """used[c] = whether code c (slot[code] = c) occurs in one sample's row of codes."""
    used[:] = False
    for k in range(row.shape[0]):
        c = slot[row[k]]
        if c >= 0:
            used[c] = True


@numba.njit(parallel=True, cache=True, fastmath=True)
def coded_matmul(codes, slot, present, table, bias, out, B):  # pragma: no cover - compiled
    """out (T, N, H) = bias + sum of table rows k whose code (codes[n, k]) spikes at step t. Per sample, each active
    column's row is added once into its code's partial sum u[c] (present[c] is code c's spike train, slot maps a
    code to c, -1 for silent), then step t adds the partial sums of the codes that spike at t. B: thread blocks."""
    T, N, H = out.shape
    K = codes.shape[1]
    C = present.shape[0]
    chunk = (N + B - 1) // B
    for blk in numba.prange(B):
        u = np.empty((C, H), dtype=out.dtype)
        used = np.empty(C, dtype=np.bool_)
        for n in range(blk * chunk, min(N, (blk + 1) * chunk)):
            codes_used(codes[n], slot, used)
            for c in range(C):
                if used[c]:
                    u[c] = 0
            for k in range(K):
                c = slot[codes[n, k]]
                if c >= 0:
                    row = table[k]
                    uc = u[c]
                    for h in range(H):
                        uc[h] += row[h]
            for t in range(T):
                o = out[t, n]
                for h in range(H):
                    o[h] = bias[h]
                for c in range(C):
                    if used[c] and (present[c] >> t) & 1:
                        uc = u[c]
                        for h in range(H):
                            o[h] += uc[h]


@numba.njit(parallel=True, cache=True, fastmath=True)
def coded_t_matmul(codes, slot, present, grad, out):  # pragma: no cover - compiled
    """out (B, K, H) per-block partial sums of X^T G for the coded 0/1 X of coded_matmul and grad (T, N, H): per
    sample, the gradient rows of each code's steps are summed once, then added to every column of that code."""
    T, N, H = grad.shape
    K = codes.shape[1]
    C = present.shape[0]
    B = out.shape[0]
    chunk = (N + B - 1) // B
    for blk in numba.prange(B):
        acc = out[blk]
        hc = np.empty((C, H), dtype=out.dtype)
        used = np.empty(C, dtype=np.bool_)
        for n in range(blk * chunk, min(N, (blk + 1) * chunk)):
            codes_used(codes[n], slot, used)
            for c in range(C):
                if not used[c]:
                    continue
                hc[c] = 0
                for t in range(T):
                    if (present[c] >> t) & 1:
                        g = grad[t, n]
                        for h in range(H):
                            hc[c, h] += g[h]
            for k in range(K):
                c = slot[codes[n, k]]
                if c >= 0:
                    a = acc[k]
                    for h in range(H):
                        a[h] += hc[c, h]
