"""CPU kernels for the LIF recurrence (numba): one pass over memory for all T, threads over neurons.

``scan_forward`` / ``scan_backward`` compute exactly what ``neurons._LIFScan`` computes with torch ops
(tests compare them); the torch version stays for other devices.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(parallel=True, cache=True, fastmath=False)
def scan_forward(current, c, v, o, spikes, volts, a, b, th, reset):  # pragma: no cover - compiled
    """current, spikes, volts: (T, M, H); c, v, o: (M, H) initial state, updated in place to the final one."""
    T, M, H = current.shape
    one = current.dtype.type(1.0)
    for i in numba.prange(M):
        for t in range(T):
            for j in range(H):
                ci = c[i, j] * a + current[t, i, j]
                oi = o[i, j]
                if reset == 0:
                    vi = (v[i, j] * b + ci) * (one - oi)
                elif reset == 1:
                    vi = v[i, j] * b + ci - th * oi
                else:
                    vi = v[i, j] * b * (one - oi) + ci
                si = one if vi > th else 0 * one
                c[i, j] = ci
                v[i, j] = vi
                o[i, j] = si
                volts[t, i, j] = vi
                spikes[t, i, j] = si


@numba.njit(parallel=True, cache=True, fastmath=False)
def scan_backward(g_spikes, g_c, g_v, volts, spikes, o0, g_current, g_c0, g_v0, a, b, th, reset,
                  width):  # pragma: no cover
    """BPTT of scan_forward: g_spikes (T, M, H), g_c/g_v (M, H) grads of the final state -> g_current, g_c0, g_v0."""
    T, M, H = volts.shape
    one = volts.dtype.type(1.0)
    zero = 0 * one
    scale = one / (2 * width)
    for i in numba.prange(M):
        for j in range(H):
            gv_next = zero
            gc_next = zero
            for t in range(T - 1, -1, -1):
                x = volts[t, i, j] - th
                gv = g_spikes[t, i, j] * scale if abs(x) < width else zero
                if t == T - 1:
                    gv += g_v[i, j]
                else:
                    gv += gv_next * (b * (one - spikes[t, i, j]) if reset != 1 else b)
                o_prev = spikes[t - 1, i, j] if t > 0 else o0[i, j]
                gc = gv * (one - o_prev) if reset == 0 else gv
                gc += gc_next * a if t < T - 1 else g_c[i, j]
                g_current[t, i, j] = gc
                gv_next = gv
                gc_next = gc
            g_v0[i, j] = gv_next * (b * (one - o0[i, j]) if reset != 1 else b)
            g_c0[i, j] = gc_next * a


def as_np(x) -> np.ndarray:
    """A contiguous numpy view of a CPU tensor."""
    return x.detach().contiguous().numpy()
