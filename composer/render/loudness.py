"""Loudness (ITU-R BS.1770), peaks, a look-ahead peak limiter and quantization with dither.

Audio is float [n_samples, n_channels]. Levels are dBFS (peak) and LUFS (loudness).
"""

from __future__ import annotations

import functools

import numpy as np
import pyloudnorm
import scipy.ndimage
import soxr

from composer.render import kernels

BLOCK_S = 0.4  # BS.1770 gating block
BLOCK_STEP = 0.25  # 75 % overlap
ABSOLUTE_GATE_LUFS = -70.0
TRUE_PEAK_OVERSAMPLE = 4
TRUE_PEAK_MARGIN = 10.0 ** (-4.0 / 20.0)  # below ceiling - 4 dB inter-sample overs are not searched
TRUE_PEAK_REACH = 8  # samples either side of a loud one whose inter-sample values are searched
TRUE_PEAK_CONTEXT = 128  # samples either side the oversampler's filter needs (it spans +-96)
K_WEIGHTING_WARM_STEPS = 5  # 0.5 s: the K-weighting's slowest pole decays by over e^-100 in it
LOOKAHEAD_S = 0.005  # the limiter's gain reaches its minimum this long before a peak


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float | None:
    """dB of a linear gain or level; None for silence (JSON has no -inf)."""
    return float(20.0 * np.log10(gain)) if gain > 0 else None


def peak_db(audio: np.ndarray) -> float | None:
    """Sample peak in dBFS, None when silent."""
    return gain_to_db(peak(audio))


@functools.lru_cache(maxsize=8)
def _k_weighting(sample_rate: int) -> np.ndarray:
    """pyloudnorm's K-weighting (high shelf then high pass) as second-order sections [2, 6], a0 = 1."""
    stages = pyloudnorm.Meter(sample_rate)._filters.values()
    sos = np.array([np.concatenate([np.asarray(f.b) * f.passband_gain, np.asarray(f.a)]) for f in stages])
    return sos / sos[:, 3:4]


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float | None:
    """Gated integrated loudness per BS.1770-4 (pyloudnorm's filters and gating, vectorized).

    Args:
      audio: float [n_samples] or [n_samples, n_channels] (up to 2 channels weigh 1.0 each).
    Returns:
      LUFS, or None when the audio is silent or shorter than one 400 ms block.
    """
    return gated_lufs(block_powers(audio, sample_rate))


def block_powers(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean square of the K-weighted audio per 400 ms gating block, summed over channels: [n_blocks].

    The costly half of a loudness measurement (the filter), kept apart so that the loudness of
    the same audio at another gain g is ``gated_lufs(powers * g**2)``, without filtering again.
    Blocks are four 100 ms steps (75 % overlap) rounded to whole samples per step.
    """
    step = int(BLOCK_S * BLOCK_STEP * sample_rate)
    n_steps = len(audio) // step
    if n_steps < 4:
        return np.zeros(0)
    audio = audio.reshape(len(audio), -1).astype(np.float32, copy=False)
    per_step = kernels.biquad2_step_energies(audio, _k_weighting(sample_rate), step, K_WEIGHTING_WARM_STEPS)
    return np.lib.stride_tricks.sliding_window_view(per_step, 4).sum(axis=1) / (4 * step)


def gated_lufs(powers: np.ndarray) -> float | None:
    """Integrated loudness from ``block_powers``: absolute gate at -70 LUFS, then relative at -10 LU.

    None when no block passes the absolute gate (silence, or no whole block).
    """
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10.0 * np.log10(powers)
    gated = powers[loudness >= ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return None
    relative_gate = -0.691 + 10.0 * np.log10(gated.mean()) - 10.0
    gated = powers[(loudness >= ABSOLUTE_GATE_LUFS) & (loudness > relative_gate)]
    return float(-0.691 + 10.0 * np.log10(gated.mean()))


def true_peak(audio: np.ndarray, sample_rate: int, *, above: float = 0.0) -> float:
    """Linear true peak: the sample peak of the audio oversampled 4x (BS.1770 annex 2).

    Only the samples within TRUE_PEAK_REACH of one louder than ``above`` (linear) are searched,
    as an inter-sample peak sits next to loud samples: with ``above`` a few dB below the level
    of interest, the oversampler skips most of a mix.
    """
    audio = audio.reshape(len(audio), -1)
    search = _widen(frame_peaks(audio) > above, TRUE_PEAK_REACH)
    kept = _widen(search, TRUE_PEAK_CONTEXT)  # the searched samples and the context they need
    stretches = np.ascontiguousarray(audio[kept], dtype=np.float32)  # kept stretches, end to end
    searched = search[kept]  # which of those are searched
    highest, piece, rate = peak(audio), 1 << 18, TRUE_PEAK_OVERSAMPLE * sample_rate
    for start in range(0, len(stretches), piece):
        lo, hi = max(0, start - TRUE_PEAK_CONTEXT), min(len(stretches), start + piece + TRUE_PEAK_CONTEXT)
        up = soxr.resample(stretches[lo:hi], sample_rate, rate, quality="HQ")
        rows = np.zeros(hi - lo, dtype=bool)  # input sample i owns oversampled rows 4i .. 4i+3
        rows[start - lo:start - lo + piece] = searched[start:start + piece]
        highest = max(highest, peak(up.reshape(hi - lo, -1)[rows]))
    return highest


def _widen(mask: np.ndarray, reach: int) -> np.ndarray:
    """``mask`` grown by ``reach`` samples on both sides, from a running count of its true
    samples (cheaper than scipy's maximum filter on a boolean mask)."""
    count = np.zeros(len(mask) + 1, dtype=np.int32)
    np.cumsum(mask, out=count[1:])  # count[i]: true samples before i
    count = np.pad(count, reach, mode="edge")
    return count[2 * reach + 1:] > count[:len(mask)]


def limit(audio: np.ndarray, sample_rate: int, *, ceiling: float) -> np.ndarray:
    """Peak limiter, in place: sample and true peaks end at or below ``ceiling`` (linear, (0, 1]).

    ``limit_sample_peaks`` then ``trim_true_peak``. audio: float32 [n_samples, n_channels].
    """
    trim_true_peak(limit_sample_peaks(audio, sample_rate, ceiling=ceiling), sample_rate, ceiling=ceiling)
    return audio


def limit_sample_peaks(audio: np.ndarray, sample_rate: int, *, ceiling: float) -> np.ndarray:
    """Look-ahead limiter, in place: no sample above ``ceiling`` afterwards.

    A per-sample gain min(1, ceiling / |x|) is spread by a minimum filter over +-2 look-ahead
    windows and smoothed by a moving average half as wide, so the gain falls before each peak and
    recovers after it, yet stays at or below the gain that peak needs; a clip covers rounding.
    """
    level = frame_peaks(audio)
    if level.max(initial=0.0) <= ceiling:
        return audio
    needed = np.minimum(1.0, ceiling / np.maximum(level, 1e-12))
    reach = max(1, int(LOOKAHEAD_S * sample_rate))
    held = scipy.ndimage.minimum_filter1d(needed, size=4 * reach + 1, mode="nearest")
    gain = scipy.ndimage.uniform_filter1d(held, size=2 * reach + 1, mode="nearest")
    audio *= gain.astype(np.float32).reshape(-1, *([1] * (audio.ndim - 1)))
    return np.clip(audio, -ceiling, ceiling, out=audio)


def trim_true_peak(audio: np.ndarray, sample_rate: int, *, ceiling: float) -> float:
    """Scale ``audio`` in place so its true peak is at most ``ceiling``; returns the gain (<= 1).

    Inter-sample overs of real audio stay within 4 dB of their neighbouring samples, so only the
    stretches around samples above ceiling - 4 dB are oversampled (none when the peak is lower).
    """
    threshold = TRUE_PEAK_MARGIN * ceiling
    if peak(audio) <= threshold:
        return 1.0
    gain = min(1.0, ceiling / true_peak(audio, sample_rate, above=threshold))
    if gain < 1.0:
        audio *= np.float32(gain)
    return gain


def frame_peaks(audio: np.ndarray) -> np.ndarray:
    """|x| per sample frame, the loudest channel: [n_samples]. Column by column: numpy reduces
    long contiguous columns far faster than the short channel axis of [n_samples, n_channels]."""
    audio = audio.reshape(len(audio), -1)
    level = np.abs(audio[:, 0])
    for c in range(1, audio.shape[1]):
        np.maximum(level, np.abs(audio[:, c]), out=level)
    return level


def peak(audio: np.ndarray) -> float:
    """Linear sample peak, without a temporary |audio| copy (of int16 too: in steps)."""
    return max(float(audio.max(initial=0)), -float(audio.min(initial=0)))


def quantize_16bit(audio: np.ndarray, *, seed: int = 0, gain: float = 1.0, out: np.ndarray | None = None) -> np.ndarray:
    """``audio`` x ``gain`` as 16-bit integers (scale 32767, clipped) after high-pass TPDF dither:
    r[n] - r[n-1], r uniform in [0, 1) drawn from ``seed``, +-1 LSB. Shape of ``audio``; written
    into ``out`` if given. The gain is applied on the way, so a gained copy is never made."""
    out = np.empty(audio.shape, dtype=np.int16) if out is None else out
    frames = audio.reshape(len(audio), -1)
    kernels.tpdf_to_pcm16(frames.astype(np.float32, copy=False), seed, 32767.0 * gain, out.reshape(frames.shape))
    return out


def pcm_headroom(bits: int | None) -> float:
    """Linear amplitude kept free below the ceiling so dither and rounding cannot pass it."""
    return 0.0 if bits is None else 2.0 / (2 ** (bits - 1) - 1)
