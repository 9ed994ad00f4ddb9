"""What long context buys an event model: the same late events scored with full and with cut context.

Late events of a long piece are harder for every predictor, so NLL by position cannot tell what
context buys from where an event sits. Here the same held-out events (those at position >=
``MIN_POSITION`` in their eval window) are scored twice: with all the window before them, and
from a fresh model state given only the last ``CUT_EVENTS`` events. ``context_gain`` =
NLL(cut) - NLL(full), nats per event: positive when the model uses context beyond those events.

The cut scoring runs one short window per scored event, so every ``stride``-th scored event is
taken (all of them on a small eval split); the count is reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

MIN_POSITION = 256    # scored events sit at least this far into their eval window
CUT_EVENTS = 32       # the cut context: this many events before each scored event
MAX_SCORED = 4096     # at most about this many scored events (a stride over the eligible ones)
CUT_BATCH = 256       # cut windows per model call


def _nll(model: Any, batch: dict) -> tf.Tensor:
    logits = tf.cast(model(batch, training=False), tf.float32)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=batch["targets"], logits=logits)  # (B, L)


def cut_windows(batch: dict, rows: np.ndarray, targets: np.ndarray, *, cut: int = CUT_EVENTS) -> dict:
    """Windows of the ``cut`` events before each chosen target: rows and target indices [N] of ``batch``
    (whose targets[b, j] is the window's event j + 1), so target j reads inputs j - cut + 1..j.

    Returns a batch {"events", "targets", "controls"?} of [N, cut] whose last column is the scored event.
    """
    columns = targets[:, None] + np.arange(1 - cut, 1)[None, :]                       # (N, cut)
    index = np.stack([np.broadcast_to(rows[:, None], columns.shape), columns], -1)    # (N, cut, 2)
    return {key: tf.gather_nd(batch[key], index) for key in ("events", "targets", "controls") if key in batch}


def context_gain(model: Any, dataset: Any, *, min_position: int = MIN_POSITION, cut: int = CUT_EVENTS,
                 stride: int = 1) -> dict:
    """Full- and cut-context NLL of the eval targets at position >= ``min_position`` (every ``stride``-th).

    Args:
      model: an event model (``model(batch) -> logits [B, L, V]``), which restarts from a fresh state per window.
      dataset: the family's eval batches (``make_dataset(..., split="eval", training=False)``).
    Returns:
      {"context_gain", "context_nll_full", "context_nll_cut", "context_events_scored", "context_min_position",
      "context_cut_events"}; the NLLs are None when no eval window reaches ``min_position``.
    """
    nll_of = tf.function(lambda batch: _nll(model, batch), reduce_retracing=True)
    full, short, seen = [], [], 0
    for batch in dataset:
        weights = batch["weights"].numpy()
        positions = np.arange(1, weights.shape[1] + 1)[None, :]                      # target j is event j + 1
        rows, targets = np.nonzero((weights > 0) & (positions >= max(min_position, cut)))
        keep = (seen + np.arange(len(rows))) % stride == 0                           # a stride across batches
        seen += len(rows)
        rows, targets = rows[keep], targets[keep]
        if not len(rows):
            continue
        full.append(nll_of(batch).numpy()[rows, targets])
        for first in range(0, len(rows), CUT_BATCH):
            part = slice(first, first + CUT_BATCH)
            short.append(nll_of(cut_windows(batch, rows[part], targets[part], cut=cut)).numpy()[:, -1])
    full_nll = float(np.concatenate(full).mean()) if full else None
    cut_nll = float(np.concatenate(short).mean()) if short else None
    return {"context_gain": None if full_nll is None else cut_nll - full_nll, "context_nll_full": full_nll,
            "context_nll_cut": cut_nll, "context_events_scored": int(sum(map(len, full))),
            "context_min_position": min_position, "context_cut_events": cut}


def stride_for(eligible: int, *, most: int = MAX_SCORED) -> int:
    """The stride that scores at most about ``most`` of ``eligible`` events."""
    return max(1, -(-eligible // most))


def eligible_events(lengths: list[int], *, window: int, min_position: int = MIN_POSITION,
                    cut: int = CUT_EVENTS) -> int:
    """How many eval targets of chunks of ``lengths`` events, cut into windows of ``window``, sit at
    position >= max(``min_position``, ``cut``) in their window."""
    first = max(min_position, cut)
    sizes = [min(window, length - 1 - start) for length in lengths if length >= 2
             for start in range(0, length - 1, window)]
    return int(sum(max(0, size - first + 1) for size in sizes))
