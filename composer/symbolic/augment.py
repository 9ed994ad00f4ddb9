"""Data augmentation on encoded performances (train split only), without re-encoding notes.

Time stretch re-times the integer event arrays once per stretch factor (numpy); transposition
is a per-window token shift applied inside the tf.data pipeline each time a window is drawn.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from composer.symbolic.controls import event_steps
from composer.symbolic.encoding import NUM_PITCHES, PerformanceEncoding


def time_stretch(events: np.ndarray, factor: float, encoding: PerformanceEncoding) -> np.ndarray:
    """Play ``events`` [n] int32 ``factor`` times as long: every event time scaled, shifts rebuilt."""
    events = np.asarray(events, np.int64)
    steps, total = event_steps(events, encoding)
    timed = (events < encoding.shift_offset) | (events >= encoding.velocity_offset)
    # Keep the length (a trailing silence) by stretching the end too: a sentinel event at `total`.
    new_steps = np.floor(np.append(steps[timed], total) * factor + 0.5).astype(np.int64)
    stretched = encoding.insert_time_shifts(np.append(events[timed], -1), new_steps)
    return stretched[:-1]


def stretch_factors(low: float, high: float, count: int) -> np.ndarray:
    """``count`` evenly spaced stretch factors in [low, high] (1.0 alone when count is 1)."""
    return np.linspace(low, high, count) if count > 1 else np.ones(1)


def transpose_window(events: tf.Tensor, weights: tf.Tensor, semitones: tf.Tensor) -> tf.Tensor:
    """Shift the real note-on/off tokens of events [..] int32 by ``semitones``; other events unchanged.

    Padding (weight 0) past a chunk's end is token 0, a note-on of pitch 0: shifted down it would
    leave the vocabulary. The caller picks ``semitones`` inside ``transposition_range`` so no real
    pitch leaves 0..127.
    """
    is_note = (events < 2 * NUM_PITCHES) & (weights > 0)
    return tf.where(is_note, events + tf.cast(semitones, events.dtype), events)


def transposition_range(events: tf.Tensor, weights: tf.Tensor, max_semitones: int) -> tuple[tf.Tensor, tf.Tensor]:
    """The lowest and highest shifts (int32 scalars) within +-max_semitones keeping every pitch in 0..127."""
    is_note = (events < 2 * NUM_PITCHES) & (weights > 0)
    pitch = events % NUM_PITCHES
    low = tf.reduce_min(tf.where(is_note, pitch, NUM_PITCHES - 1))
    high = tf.reduce_max(tf.where(is_note, pitch, 0))
    return tf.maximum(-max_semitones, -low), tf.minimum(max_semitones, NUM_PITCHES - 1 - high)
