"""CPU kernels (numba) for the spiking core: the LIF recurrence (one pass over memory for all T, threads over
neurons), the encoder's spikes and receptive fields, and the CSR spike products (spike-train codes: code_kernels.py).
Multi-spike neurons have their own forward scan (integer counts) and share the rest: the CSR of a count matrix is
``fill_csr(..., multi=True)`` (a count of n is its column index written n times, so the sparse products of
``sparse.Csr`` sum that weight row n times: exactly W x for integer x). One file, so numba's cache sees every
edit of the inlined helpers.

``scan_forward`` / ``scan_backward`` compute exactly what ``neurons._LIFScan`` computes with torch ops
(tests compare them); the torch version stays for other devices.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(inline="always")
def membrane_step(v, b, ci, fired, o, th, reset, one):  # pragma: no cover - compiled
    """v_t from v_{t-1} (``equations.lif_step``'s reset forms): reset 0 zeroes it after a spike, 1 subtracts th x o
    (o the last output, a count for multi-spike neurons), 2 gates only the decayed part; fired = min(o, 1) gates."""
    if reset == 0:
        return (v * b + ci) * (one - fired)
    if reset == 1:
        return v * b + ci - th * o
    return v * b * (one - fired) + ci


@numba.njit(inline="always")
def multi_output(v, th, width, kind, kmax, one, zero, half, inv, top):  # pragma: no cover - compiled
    """A multi-spike neuron at membrane v: (count clamp(ceil(v / th) - 1, 0, kmax), dO/dv summed over the kmax
    thresholds, the summed surrogate integrals), for both surrogate kinds (0 rect, 1 fast_sigmoid). The constants
    come in the caller's dtype (inv = 1 / (2 width), top = kmax)."""
    count = min(top, max(zero, math.ceil(v / th) - one))
    grad = zero
    ramp = zero
    for k in range(1, kmax + 1):
        x = v - k * th
        if kind == 0:
            grad += inv if abs(x) < width else zero
            ramp += min(one, max(zero, half + x * inv))
        else:
            u = x / width
            grad += inv / ((one + abs(u)) * (one + abs(u)))
            ramp += half + half * u / (one + abs(u))
    return count, grad, ramp


@numba.njit(parallel=True, cache=True, fastmath=False)
def scan_forward(current, c, v, o, spikes, window, a, b, th, reset, width, smooth, kind,
                 store):  # pragma: no cover - compiled
    """current, spikes: (T, M, H); c, v, o: (M, H) initial state, updated in place to the final one;
    window (T, M, H): all BPTT needs of v. kind 0 (rect): uint8, 1 where |v - th| < width; kind 1 (fast_sigmoid):
    dO/dv = 1 / (2 width) / (1 + |v - th| / width)^2 in current's dtype; store False (inference) leaves it unwritten.
    smooth in [0, 1]: output (1 - smooth) H(v - th) + smooth integral (0: spikes); the integral is
    clip(1/2 + (v - th) / (2 width), 0, 1) (rect) or 1/2 + 1/2 softsign((v - th) / width) (fast_sigmoid)."""
    T, M, H = current.shape
    one = current.dtype.type(1.0)
    half = current.dtype.type(0.5)
    inv = one / (2 * width)
    for i in numba.prange(M):
        for t in range(T):
            for j in range(H):
                ci = c[i, j] * a + current[t, i, j]
                oi = o[i, j]
                vi = membrane_step(v[i, j], b, ci, oi, oi, th, reset, one)
                si = one if vi > th else 0 * one
                if kind == 0:
                    if store:
                        window[t, i, j] = 1 if abs(vi - th) < width else 0
                    if smooth > 0:
                        ramp = min(one, max(0 * one, half + (vi - th) * inv))
                        si = (one - smooth) * si + smooth * ramp
                else:
                    u = (vi - th) / width
                    if store:
                        window[t, i, j] = inv / ((one + abs(u)) * (one + abs(u)))
                    if smooth > 0:
                        si = (one - smooth) * si + smooth * (half + half * u / (one + abs(u)))
                c[i, j] = ci
                v[i, j] = vi
                o[i, j] = si
                spikes[t, i, j] = si


@numba.njit(parallel=True, cache=True, fastmath=False)
def scan_forward_multi(current, c, v, o, spikes, window, a, b, th, reset, width, smooth, kind, store,
                       kmax):  # pragma: no cover - compiled
    """Multi-spike neurons (``snn.neuron.max_spikes`` > 1): as ``scan_forward`` with o_t = sum_k H(v_t - k th),
    k = 1..kmax, reset gated by min(o, 1); window (T, M, H) in current's dtype is dO/dv summed over the kmax
    thresholds (both surrogate kinds); smooth mixes in the summed integrals. The backward is ``scan_backward``
    itself: it reads the spikes only as reset gates, so it is given the counts clamped to 1 (a multi-spike resets
    like one spike) and the dO/dv stored here."""
    T, M, H = current.shape
    one = current.dtype.type(1.0)
    zero = current.dtype.type(0.0)
    half = current.dtype.type(0.5)
    inv = one / (2 * width)
    top = current.dtype.type(kmax)
    for i in numba.prange(M):
        for t in range(T):
            for j in range(H):
                ci = c[i, j] * a + current[t, i, j]
                oi = o[i, j]
                vi = membrane_step(v[i, j], b, ci, min(oi, one), oi, th, reset, one)
                si, grad, ramp = multi_output(vi, th, width, kind, kmax, one, zero, half, inv, top)
                if store:
                    window[t, i, j] = grad
                if smooth > 0:
                    si = (one - smooth) * si + smooth * ramp
                c[i, j] = ci
                v[i, j] = vi
                o[i, j] = si
                spikes[t, i, j] = si


@numba.njit(parallel=True, cache=True, fastmath=False)
def scan_backward(g_spikes, g_c, g_v, window, spikes, o0, g_current, g_c0, g_v0, a, b, reset,
                  scale):  # pragma: no cover - compiled
    """BPTT of scan_forward: g_spikes (T, M, H), g_c/g_v (M, H) grads of the final state -> g_current, g_c0, g_v0;
    the surrogate is scale x window: rect, scan_forward's 0/1 window and 1 / (2 width); fast_sigmoid, dO/dv itself
    and 1.

    g_v0 / g_c0 rows hold the running dL/dv_{t+1}, dL/dc_{t+1} during the sweep (innermost loop over neurons)."""
    T, M, H = spikes.shape
    one = spikes.dtype.type(1.0)
    for i in numba.prange(M):
        gvn = g_v0[i]
        gcn = g_c0[i]
        # branch-free loops over neurons (they vectorize); the branches depend on t and the reset form only
        for t in range(T - 1, -1, -1):
            gs, win, sp, gcur = g_spikes[t, i], window[t, i], spikes[t, i], g_current[t, i]
            o_prev = spikes[t - 1, i] if t > 0 else o0[i]
            if t == T - 1:
                for j in range(H):
                    gvn[j] = gs[j] * scale * win[j] + g_v[i, j]
            elif reset == 1:
                for j in range(H):
                    gvn[j] = gs[j] * scale * win[j] + gvn[j] * b
            else:
                for j in range(H):
                    gvn[j] = gs[j] * scale * win[j] + gvn[j] * (b * (one - sp[j]))
            if t == T - 1:
                if reset == 0:
                    for j in range(H):
                        gcn[j] = gvn[j] * (one - o_prev[j]) + g_c[i, j]
                else:
                    for j in range(H):
                        gcn[j] = gvn[j] + g_c[i, j]
            elif reset == 0:
                for j in range(H):
                    gcn[j] = gvn[j] * (one - o_prev[j]) + gcn[j] * a
            else:
                for j in range(H):
                    gcn[j] = gvn[j] + gcn[j] * a
            for j in range(H):
                gcur[j] = gcn[j]
        for j in range(H):
            gvn[j] = gvn[j] * (b * (one - o0[i, j]) if reset != 1 else b)
            gcn[j] = gcn[j] * a


@numba.njit(parallel=True, cache=True)
def csr_scatter_add(indices, offsets, nnz, grad, out):  # pragma: no cover - compiled
    """out[k] += sum of grad rows r whose CSR row holds column k (= (X^T G)[k] for 0/1 X); out (P, K, H)
    holds one partial sum per thread block, summed by the caller. Reads grad once, in order."""
    R, H = grad.shape
    P = out.shape[0]
    chunk = (R + P - 1) // P
    for p in numba.prange(P):
        acc = out[p]
        for r in range(p * chunk, min(R, (p + 1) * chunk)):
            end = offsets[r + 1] if r + 1 < R else nnz
            for q in range(offsets[r], end):
                k = indices[q]
                for h in range(H):
                    acc[k, h] += grad[r, h]


def as_np(x) -> np.ndarray:
    """A contiguous numpy view of a CPU tensor."""
    return x.detach().contiguous().numpy()


@numba.njit(cache=True, inline="always")
def spike_code(a, T, th):  # pragma: no cover - compiled
    """The deterministic encoder's spike train of one input as a bit mask (bit t = a spike at step t): PopSAN's
    regular spikes of stimulation A, v += A; spike when v > th; v -= th (A * T <= th: silent). The one numba copy
    of equations.encoder_spikes."""
    code = 0
    if a * T > th:
        v = 0 * a
        for t in range(T):
            v += a
            if v > th:
                v -= th
                code |= 1 << t
    return code


@numba.njit(parallel=True, cache=True)
def encode_pass(stim, T, th, counts, offsets, indices, fill):  # pragma: no cover - compiled
    """Deterministic encoder into CSR over rows (t, n) = t * N + n, in two calls:
    fill=False counts the spikes per row into counts (T, N); fill=True writes each spike's column into
    indices, row (t, n) starting at offsets[t * N + n]. Each input's train is ``spike_code``'s."""
    N, K = stim.shape
    for n in numba.prange(N):
        cursor = np.zeros(T, dtype=np.int64)
        if fill:
            for t in range(T):
                cursor[t] = offsets[t * N + n]
        row = stim[n]
        for k in range(K):
            code = spike_code(row[k], T, th)
            t = 0
            while code:
                if code & 1:
                    if fill:
                        indices[cursor[t]] = k
                    cursor[t] += 1
                code >>= 1
                t += 1
        if not fill:
            for t in range(T):
                counts[t, n] = cursor[t]


@numba.njit(parallel=True, cache=True)
def row_counts(x, counts, multi=False):  # pragma: no cover - compiled
    """Entries per row of a (R, K) array into counts (R,): its nonzeros, or with ``multi`` the sum of its
    non-negative integer counts (stored as floats). Left out, ``multi`` is a compile-time False (numba prunes the
    branch), so the 0/1 rollout path runs the plain loop."""
    R, K = x.shape
    for r in numba.prange(R):
        c = 0
        for k in range(K):
            if multi:
                c += int(x[r, k])
            elif x[r, k] != 0:
                c += 1
        counts[r] = c


@numba.njit(parallel=True, cache=True)
def fill_csr(x, offsets, indices, multi=False):  # pragma: no cover - compiled
    """Column indices of the nonzeros of (R, K) x, row by row, starting at offsets[r]; with ``multi`` column k is
    written x[r, k] times (integer spike counts)."""
    R, K = x.shape
    for r in numba.prange(R):
        p = offsets[r]
        for k in range(K):
            if multi:
                for _ in range(int(x[r, k])):
                    indices[p] = k
                    p += 1
            elif x[r, k] != 0:
                indices[p] = k
                p += 1


@numba.njit(parallel=True, cache=True, fastmath=True)
def receptive_exponents(x, mu, sigma, out):  # pragma: no cover - compiled
    """The Gaussian receptive fields' exponents: out[n, d*P + p] = -(x[n, d] - mu[d, p])^2 / (2 sigma[d, p]^2)
    (the caller takes exp with torch: numba's exp is scalar libm without SVML, torch's is vectorized)."""
    N, D = x.shape
    P = mu.shape[1]
    half = x.dtype.type(0.5)
    for n in numba.prange(N):
        for d in range(D):
            xv = x[n, d]
            for p in range(P):
                z = (xv - mu[d, p]) / sigma[d, p]
                out[n, d * P + p] = -half * z * z


@numba.njit(parallel=True, cache=True, fastmath=True)
def receptive_fields_backward(x, mu, sigma, stim, grad, g_mu, g_sigma):  # pragma: no cover - compiled
    """dL/dmu and dL/dsigma of A = exp(receptive_exponents), given A (stim) and dL/dA (N, D*P); g_mu/g_sigma
    (B, D, P) per-block sums."""
    N, D = x.shape
    P = mu.shape[1]
    B = g_mu.shape[0]
    chunk = (N + B - 1) // B
    for blk in numba.prange(B):
        for n in range(blk * chunk, min(N, (blk + 1) * chunk)):
            for d in range(D):
                xv = x[n, d]
                for p in range(P):
                    s = sigma[d, p]
                    z = (xv - mu[d, p]) / s
                    ga = grad[n, d * P + p] * stim[n, d * P + p]
                    g_mu[blk, d, p] += ga * z / s
                    g_sigma[blk, d, p] += ga * z * z / s


@numba.njit(parallel=True, cache=True, fastmath=False)
def scan_rate(current, spikes, sens, live, a, b, th, reset, width, smooth, kind,
              live_floor, kmax):  # pragma: no cover - compiled
    """The forward of ``scan_forward`` (``scan_forward_multi`` for kmax > 1) from a zero state, plus what the rate
    gradient needs (rate_grad.py): sens (M, H) = (1 / T) sum_t dO/dv_t dv_t/dI, the derivative of the neuron's rate
    (spike count per step) under a constant input current I (reset detached, as in BPTT; a multi-spike resets like one
    spike), and live (M,) the neuron-steps whose dO/dv >= live_floor. current, spikes: (T, M, H)."""
    T, M, H = current.shape
    one = current.dtype.type(1.0)
    zero = current.dtype.type(0.0)
    half = current.dtype.type(0.5)
    inv = one / (2 * width)
    top = current.dtype.type(kmax)
    for i in numba.prange(M):
        c = np.zeros(H, current.dtype)
        v = np.zeros(H, current.dtype)
        o = np.zeros(H, current.dtype)
        kc = np.zeros(H, current.dtype)
        kv = np.zeros(H, current.dtype)
        acc = np.zeros(H, current.dtype)
        n_live = 0
        for t in range(T):
            for j in range(H):
                c[j] = c[j] * a + current[t, i, j]
                kc[j] = kc[j] * a + one
                fired = min(o[j], one)  # a count resets like one spike; dv/dI: the same step, no threshold
                v[j] = membrane_step(v[j], b, c[j], fired, o[j], th, reset, one)
                kv[j] = membrane_step(kv[j], b, kc[j], fired, o[j], zero, reset, one)
                if kmax == 1:
                    u = v[j] - th
                    s = one if u > 0 else zero
                    if kind == 0:
                        d = inv if abs(u) < width else zero
                        if smooth > 0:
                            s = (one - smooth) * s + smooth * min(one, max(zero, half + u * inv))
                    else:
                        r = one + abs(u) / width
                        d = inv / (r * r)
                        if smooth > 0:
                            s = (one - smooth) * s + smooth * (half + half * (u / width) / r)
                else:  # the count and the summed surrogate and integral of scan_forward_multi
                    s, d, ramp = multi_output(v[j], th, width, kind, kmax, one, zero, half, inv, top)
                    if smooth > 0:
                        s = (one - smooth) * s + smooth * ramp
                if d >= live_floor:
                    n_live += 1
                acc[j] += d * kv[j]
                o[j] = s
                spikes[t, i, j] = s
        for j in range(H):
            sens[i, j] = acc[j] / T
        live[i] = n_live
