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


@numba.njit(nogil=True, cache=True, fastmath={"contract"})
def biquad2_step_energies(audio: np.ndarray, sos: np.ndarray, step: int, warm_steps: int) -> np.ndarray:
    """Energy per ``step`` samples, summed over channels, of ``audio`` filtered by two biquads.

    Args:
      audio: float32 [n_samples, n_channels].
      sos: float64 [2, 6] second-order sections (b0, b1, b2, 1, a1, a2), run in direct form II
        transposed in float64 from zero state, like scipy's sosfilt.
      warm_steps: steps after which the filter has forgotten its start (its decay).
    Returns:
      float64 [n_samples // step]. The filtered audio is never stored. Each channel runs as two
      independent recursions at once, over the first and the second half (the second starting
      ``warm_steps`` early from zero state, uncounted until the half), which the CPU overlaps.
    """
    n_steps = audio.shape[0] // step
    energies = np.zeros(n_steps)
    half = min(n_steps, (n_steps + warm_steps + 1) // 2)  # first recursion: steps [0, half)
    first_b = max(0, half - warm_steps)  # second: from here, counted from half to the end
    for c in range(audio.shape[1]):
        state_a = state_b = (0.0, 0.0, 0.0, 0.0)
        for k in range(half):
            kb = min(first_b + k, n_steps - 1)  # past the end it repeats the last step, uncounted
            total_a = total_b = 0.0
            for j in range(step):
                y_a, state_a = _biquads(np.float64(audio[k * step + j, c]), sos, state_a)
                y_b, state_b = _biquads(np.float64(audio[kb * step + j, c]), sos, state_b)
                total_a += y_a * y_a
                total_b += y_b * y_b
            energies[k] += total_a
            if half <= first_b + k < n_steps:
                energies[kb] += total_b
    return energies


@numba.njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _biquads(x: float, sos: np.ndarray, state: tuple) -> tuple:
    """One sample through both sections: (output, new state (z1, z2 of each section))."""
    y = sos[0, 0] * x + state[0]
    z1, z2 = sos[0, 1] * x - sos[0, 4] * y + state[1], sos[0, 2] * x - sos[0, 5] * y
    out = sos[1, 0] * y + state[2]
    return out, (z1, z2, sos[1, 1] * y - sos[1, 4] * out + state[3], sos[1, 2] * y - sos[1, 5] * out)


@numba.njit(nogil=True, cache=True)
def _uniform(seed: np.uint64, index: int) -> float:
    """Uniform in [0, 1) for ``index``: splitmix64 of a counter, so draws need no shared state."""
    z = seed + np.uint64(index + 1) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    z = z ^ (z >> np.uint64(31))
    return np.int64(z >> np.uint64(40)) * (1.0 / 16777216.0)  # via int64: one instruction


@numba.njit(nogil=True, cache=True)
def tpdf_to_pcm16(audio: np.ndarray, seed: int, scale: float, out: np.ndarray) -> None:
    """``out`` (int16 [n_samples, n_channels]) = round(scale x + r[n] - r[n-1]), clipped to
    +-32767: high-pass TPDF dither with r uniform in [0, 1), independent per channel."""
    n_channels = audio.shape[1]
    key = np.uint64(seed) * _MIX_1
    for c in range(n_channels):
        previous = _uniform(key, c)
        for i in range(audio.shape[0]):
            r = _uniform(key, (i + 1) * n_channels + c)
            v = np.rint(scale * np.float64(audio[i, c]) + r - previous)
            previous = r
            out[i, c] = np.int16(min(32767.0, max(-32767.0, v)))
