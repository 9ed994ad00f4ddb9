"""Per-sample loops compiled by numba, for work numpy and scipy do in several passes over memory.

Audio is float32 [n_samples, n_channels]. The kernels release the GIL, so the mixer's threads
run them side by side; ``cache=True`` keeps the compiled code between processes.
"""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


@numba.njit(nogil=True, cache=True)
def biquad2_step_energies(audio: np.ndarray, sos: np.ndarray, step: int) -> np.ndarray:
    """Energy per ``step`` samples, summed over channels, of ``audio`` filtered by two biquads.

    Args:
      audio: float32 [n_samples, n_channels].
      sos: float64 [2, 6] second-order sections (b0, b1, b2, 1, a1, a2), run in direct form II
        transposed in float64 with zero initial state, like scipy's sosfilt.
    Returns:
      float64 [n_samples // step]. The filtered audio itself is never stored, and all channels
      run in one pass, so their independent recursions overlap in the CPU.
    """
    n_channels = audio.shape[1]
    energies = np.zeros(audio.shape[0] // step)
    state = np.zeros((n_channels, 4))  # per channel: section 1 (z1, z2), section 2 (z1, z2)
    b10, b11, b12, a11, a12 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b20, b21, b22, a21, a22 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    for c in range(n_channels):
        p1, p2, q1, q2 = state[c, 0], state[c, 1], state[c, 2], state[c, 3]
        for k in range(len(energies)):
            total = 0.0
            for i in range(k * step, (k + 1) * step):
                x = np.float64(audio[i, c])
                y = b10 * x + p1
                p1 = b11 * x - a11 * y + p2
                p2 = b12 * x - a12 * y
                z = b20 * y + q1
                q1 = b21 * y - a21 * z + q2
                q2 = b22 * y - a22 * z
                total += z * z
            energies[k] += total
    return energies


@numba.njit(nogil=True, cache=True)
def _uniform(seed: np.uint64, index: int) -> float:
    """Uniform in [0, 1) for ``index``: splitmix64 of a counter, so draws need no shared state."""
    z = seed + np.uint64(index + 1) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    z = z ^ (z >> np.uint64(31))
    return np.int64(z >> np.uint64(40)) * (1.0 / 16777216.0)  # via int64: one instruction


@numba.njit(nogil=True, cache=True)
def tpdf_to_pcm16(audio: np.ndarray, seed: int, out: np.ndarray) -> None:
    """``out`` (int16 [n_samples, n_channels]) = round(32767 x + r[n] - r[n-1]), clipped to
    +-32767: high-pass TPDF dither with r uniform in [0, 1), independent per channel."""
    n_channels = audio.shape[1]
    key = np.uint64(seed) * _MIX_1
    for c in range(n_channels):
        previous = _uniform(key, c)
        for i in range(audio.shape[0]):
            r = _uniform(key, (i + 1) * n_channels + c)
            v = np.rint(32767.0 * np.float64(audio[i, c]) + r - previous)
            previous = r
            out[i, c] = np.int16(min(32767.0, max(-32767.0, v)))
