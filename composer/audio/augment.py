"""Tape-speed augmentation: more training audio from one song, at other pitches and tempi.

One 2-3 minute song is little data for a frame model: its prior learns the song's own frames and
on held-out audio the KL term grows tenfold within a few hundred steps. Playing the song a
semitone or two faster or slower (pitch and tempo together, as a tape machine does) gives
versions whose partials and note lengths are new to the model but still the song's.
"""

from __future__ import annotations

import numpy as np
import soxr


def speed_factors(semitones: int) -> list[float]:
    """Playback speeds of every shift from -``semitones`` to +``semitones`` semitones except 0."""
    return [2.0 ** (shift / 12.0) for shift in range(-semitones, semitones + 1) if shift]


def tape_speed(audio: np.ndarray, *, sample_rate: int, factor: float) -> np.ndarray:
    """``audio`` [n] played ``factor`` times faster: pitch up by ``factor``, length [~n / factor]."""
    return soxr.resample(audio, sample_rate * factor, sample_rate, quality="HQ").astype(np.float32)
