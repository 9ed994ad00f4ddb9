"""Training and eval batches of Performance RNN, from in-memory event arrays.

All chunks of a split (and, for training, their time-stretched variants) are laid out in one
flat int32 array, each chunk padded so every window of ``example_events + 1`` events stays
inside it; a window is then just a start index. A batch is a dict:

    events   int32   [B, L]      inputs e_0..e_{L-1}
    targets  int32   [B, L]      e_1..e_L
    weights  float32 [B, L]      1 for real targets, 0 for padding
    controls float32 [B, L, C]   controls of the *target* events (conditioned models only)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from composer.errors import CorpusError
from composer.symbolic.augment import stretch_factors, time_stretch, transpose_window, transposition_range
from composer.symbolic.controls import CONTROL_NAMES, control_vectors, control_widths
from composer.symbolic.encoding import PerformanceEncoding


@dataclasses.dataclass(frozen=True)
class Layout:
    """Chunks laid end to end: events [N], weights [N], controls [N, C] or None, window starts [W]."""

    events: np.ndarray
    weights: np.ndarray
    controls: np.ndarray | None
    starts: np.ndarray


def layout(chunks: list[np.ndarray], encoding: PerformanceEncoding, *, example_events: int, hop: int | None,
           controls: tuple[str, ...] = ()) -> Layout:
    """Pad and concatenate ``chunks``; windows every ``hop`` events (None: back to back, covering all)."""
    length = example_events
    events: list[np.ndarray] = []   # per chunk, padded: int32 [windows * L + 1]
    weights: list[np.ndarray] = []  # 1 for a real event, 0 for padding
    ctrls: list[np.ndarray] = []    # control vectors per event, when the model takes controls
    starts: list[np.ndarray] = []   # window starts in the concatenation
    offset = 0
    for chunk in (c for c in chunks if len(c) >= 2):
        windows = -(-(len(chunk) - 1) // length)                  # ceil((n - 1) / L)
        pad = windows * length + 1 - len(chunk)
        events.append(np.pad(chunk, (0, pad)).astype(np.int32))
        weights.append(np.pad(np.ones(len(chunk), np.float32), (0, pad)))
        if controls:
            ctrls.append(np.pad(control_vectors(chunk, encoding, controls), ((0, pad), (0, 0))))
        last = max(len(chunk) - length - 1, 0)
        local = np.arange(0, last + 1, hop) if hop else np.arange(windows) * length
        starts.append(offset + local)
        offset += len(chunk) + pad
    if not events:
        return Layout(np.zeros(0, np.int32), np.zeros(0, np.float32), None, np.zeros(0, np.int64))
    return Layout(np.concatenate(events), np.concatenate(weights),
                  np.concatenate(ctrls) if controls else None, np.concatenate(starts))


def stretched(chunks: list[np.ndarray], encoding: PerformanceEncoding, *, low: float, high: float,
              count: int) -> list[np.ndarray]:
    """Every chunk at ``count`` tempo factors in [low, high] (integer re-timing, no re-encoding)."""
    return [time_stretch(chunk, factor, encoding) if factor != 1.0 else chunk
            for factor in stretch_factors(low, high, count) for chunk in chunks]


def check_tokens(chunks: list[np.ndarray], num_classes: int, *, corpus: str, split: str) -> None:
    """A CorpusError naming the chunk whose events leave 0..num_classes-1.

    Under XLA an out-of-range embedding or one-hot index is not an error but garbage (and then a
    non-finite loss), so events are checked here, where the data meets the model.
    """
    for index, chunk in enumerate(chunks):
        if len(chunk) and (chunk.min() < 0 or chunk.max() >= num_classes):
            bad = int(chunk.min()) if chunk.min() < 0 else int(chunk.max())
            raise CorpusError(f"corpus '{corpus}' {split} chunk {index}: event {bad} is outside "
                              f"0..{num_classes - 1} (re-encode the corpus cache: delete {corpus}/cache)")


def windows_dataset(data: Layout, *, example_events: int, batch_size: int, training: bool, seed: int,
                    num_classes: int, controls: tuple[str, ...] = (), transpose: int = 0,
                    control_dropout: float = 0.0) -> tf.data.Dataset:
    """Batches of windows; training: shuffled, augmented (seeded per window), repeated forever.

    Each window's events are asserted to lie in 0..num_classes-1 after augmentation, so a bug
    there stops training with the window's offset instead of feeding garbage to the model.
    """
    events, weights = tf.constant(data.events), tf.constant(data.weights)
    ctrl = tf.constant(data.controls) if data.controls is not None else None
    length = example_events

    def window(index: tf.Tensor, start: tf.Tensor) -> dict:
        ev = events[start:start + length + 1]
        w = weights[start:start + length + 1]
        c = ctrl[start + 1:start + length + 1] if ctrl is not None else None
        if training:
            rng = tf.stack([tf.cast(seed, tf.int64), tf.cast(index, tf.int64)])
            ev, c = _augment(ev, w, c, rng, names=controls, transpose=transpose, control_dropout=control_dropout)
            ev = _checked(ev, start, num_classes)
        batch = {"events": ev[:-1], "targets": ev[1:], "weights": w[1:]}
        if c is not None:
            batch["controls"] = c
        return batch

    ds = tf.data.Dataset.from_tensor_slices(tf.constant(data.starts, tf.int64))
    if training:
        ds = ds.shuffle(len(data.starts), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.enumerate().map(window, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=training).prefetch(2)


def _checked(events: tf.Tensor, start: tf.Tensor, num_classes: int) -> tf.Tensor:
    message = tf.strings.format("augmented window at offset {} has an event outside 0..{}", (start, num_classes - 1))
    in_range = tf.reduce_all((events >= 0) & (events < num_classes))
    with tf.control_dependencies([tf.debugging.Assert(in_range, [message])]):
        return tf.identity(events)


def _augment(events: tf.Tensor, weights: tf.Tensor, controls: tf.Tensor | None, rng: tf.Tensor, *,
             names: tuple[str, ...], transpose: int, control_dropout: float) -> tuple:
    """Transpose a window [L + 1] by a random shift in range, rotate its histograms to match,
    and drop each control group (zeros, flag 1) with probability ``control_dropout``."""
    low, high = transposition_range(events, weights, transpose)
    draw = tf.random.stateless_uniform([1 + len(names)], seed=rng)
    semitones = tf.minimum(low + tf.cast(draw[0] * tf.cast(high - low + 1, tf.float32), tf.int32), high)
    events = transpose_window(events, weights, semitones)
    if controls is None:
        return events, None
    blocks, flags, offset = [], [], 0
    widths = control_widths(names)
    for k, (name, width) in enumerate(zip((n for n in CONTROL_NAMES if n in names), widths)):
        block = controls[:, offset:offset + width]
        if name == "pitch_histogram":
            block = tf.roll(block, shift=semitones, axis=1)
        drop = tf.cast(draw[1 + k] < control_dropout, tf.float32)
        blocks.append(block * (1.0 - drop))
        flags.append(tf.maximum(controls[:, sum(widths) + k:sum(widths) + k + 1], drop))
        offset += width
    return events, tf.concat(blocks + flags, axis=1)
