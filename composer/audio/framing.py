"""Cutting audio into overlapping windowed frames and putting it back by overlap-add.

The analysis window ``a`` and synthesis window ``s`` are chosen so that the shifted products
``a * s`` sum to a constant (COLA): frames -> overlap-add then gives the audio back exactly,
and frames a model invents are tapered by ``s`` at both ends, so frame joins do not click.

Shapes: audio [n_samples]; frames [n_frames, frame_size] (or [batch, n_frames, frame_size]).
The signal is padded by ``frame_size - hop`` zeros on the left, so every real sample lies under
the same number of frames and the first sample is reconstructed like any other.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from composer.errors import ConfigError, check_range

WINDOWS = ("sqrt_hann", "hann")


def windows(name: str, frame_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (analysis, synthesis) window pair, float32 [frame_size] each.

    ``sqrt_hann`` tapers on both sides (sqrt-Hann twice is Hann, COLA at hop N/2 and N/4);
    ``hann`` windows the analysis only and adds frames back unwindowed.
    """
    hann = scipy.signal.get_window("hann", frame_size, fftbins=True).astype(np.float32)
    if name == "sqrt_hann":
        root = np.sqrt(hann)
        return root, root
    if name == "hann":
        return hann, np.ones(frame_size, np.float32)
    raise ConfigError(f"unknown window '{name}' (valid: {', '.join(WINDOWS)})")


def check_cola(window: str, *, frame_size: int, hop: int) -> None:
    """Raise ConfigError unless ``window`` frames of ``frame_size`` at ``hop`` overlap-add to a constant."""
    if not 0 < hop <= frame_size or frame_size % hop:
        raise ConfigError(f"hop must divide frame_size ({frame_size}), got {hop}")
    analysis, synthesis = windows(window, frame_size)
    if not scipy.signal.check_COLA(analysis * synthesis, frame_size, frame_size - hop, tol=1e-6):
        raise ConfigError(f"window '{window}' with frame_size {frame_size} and hop {hop} does not overlap-add to a "
                          f"constant (use hop = frame_size/2 or frame_size/4)")


def n_frames_for(n_samples: int, *, frame_size: int, hop: int) -> int:
    """How many frames ``frame`` cuts from ``n_samples`` samples (enough to cover the last sample)."""
    # left and right padding of frame_size - hop each, so both ends lie under full overlap
    return max(0, -(-(n_samples + frame_size - 2 * hop) // hop)) + 1


def frame(audio: np.ndarray, *, frame_size: int, hop: int, window: str) -> np.ndarray:
    """Windowed frames of ``audio`` [n_samples] -> float32 [n_frames, frame_size]."""
    audio = np.asarray(audio, np.float32)
    n_frames = n_frames_for(len(audio), frame_size=frame_size, hop=hop)
    total = (n_frames - 1) * hop + frame_size
    padded = np.zeros(total, np.float32)
    left = frame_size - hop
    padded[left:left + len(audio)] = audio
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame_size)[::hop]
    analysis, _ = windows(window, frame_size)
    return frames * analysis


def overlap_add(frames: np.ndarray, *, hop: int, window: str, n_samples: int | None = None) -> np.ndarray:
    """Inverse of ``frame``: [..., n_frames, frame_size] -> float32 [..., n_samples].

    Applies the synthesis window, sums the shifted frames and divides by the window pair's
    constant overlap sum. ``n_samples`` trims the tail (default: everything the frames cover).
    """
    frames = np.asarray(frames, np.float32)
    *lead, n_frames, frame_size = frames.shape
    analysis, synthesis = windows(window, frame_size)
    gain = float(np.sum(analysis * synthesis)) / hop  # the COLA constant
    out = np.zeros((*lead, (n_frames - 1) * hop + frame_size), np.float32)
    shaped = frames * synthesis
    for k in range(frame_size // hop):  # add every (frame_size/hop)-th frame in one strided write
        block = shaped[..., k::frame_size // hop, :]
        start = k * hop
        span = block.shape[-2] * frame_size
        out[..., start:start + span] += block.reshape(*lead, span)
    left = frame_size - hop
    end = out.shape[-1] if n_samples is None else left + n_samples
    return out[..., left:end] / gain


def highpass(audio: np.ndarray, *, sample_rate: int, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth high-pass of ``audio`` [n_samples] (float32, same shape)."""
    check_range("highpass_hz", cutoff_hz, low=0, high=sample_rate / 2, open_low=True, open_high=True,
                note="(below Nyquist)")
    sos = scipy.signal.butter(order, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
    if len(audio) <= 3 * (2 * len(sos) + 1):  # too short for filtfilt's padding
        return scipy.signal.sosfilt(sos, audio).astype(np.float32)
    return scipy.signal.sosfiltfilt(sos, audio).astype(np.float32)
