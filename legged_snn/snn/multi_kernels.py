"""CPU kernels (numba) for multi-spike neurons (``snn.neuron.max_spikes`` > 1): the LIF scan's forward with integer
spike counts. The CSR of a count matrix is ``kernels.fill_csr(..., multi=True)`` (a count of n is its column index
written n times, so the sparse products of ``sparse.Csr`` sum that weight row n times: exactly W x for integer x).

The backward is ``kernels.scan_backward`` itself: it reads the spikes only as reset gates, so it is given the counts
clamped to 1 (a multi-spike resets like one spike) and the surrogate dO/dv this forward stores.
"""

from __future__ import annotations

import math

import numba

from legged_snn.snn.kernels import membrane_step


@numba.njit(parallel=True, cache=True, fastmath=False)
def scan_forward_multi(current, c, v, o, spikes, window, a, b, th, reset, width, smooth, kind, store,
                       kmax):  # pragma: no cover - compiled
    """As ``kernels.scan_forward`` with o_t = sum_k H(v_t - k th), k = 1..kmax, reset gated by min(o, 1); window
    (T, M, H) in current's dtype is dO/dv summed over the kmax thresholds (both surrogate kinds); smooth mixes in the
    summed integrals."""
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
                si = min(top, max(zero, math.ceil(vi / th) - one))
                grad = zero
                ramp = zero
                for k in range(1, kmax + 1):
                    x = vi - k * th
                    if kind == 0:
                        grad += inv if abs(x) < width else zero
                        ramp += min(one, max(zero, half + x * inv))
                    else:
                        u = x / width
                        grad += inv / ((one + abs(u)) * (one + abs(u)))
                        ramp += half + half * u / (one + abs(u))
                if store:
                    window[t, i, j] = grad
                if smooth > 0:
                    si = (one - smooth) * si + smooth * ramp
                c[i, j] = ci
                v[i, j] = vi
                o[i, j] = si
                spikes[t, i, j] = si
