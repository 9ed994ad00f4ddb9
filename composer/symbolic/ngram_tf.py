"""The n-gram mixture inside the compiled TensorFlow sampling loop: ``MixedModel`` is an event model whose
step is the wrapped model's step mixed with the n-gram's, all in TensorFlow ops, so the "tf" engine keeps
its compiled loop (``sampler._chunk_loop``) with the mixture on.

The same arrays as ``ngram_state.NgramState`` (held as variables): a row's context advances by one
``searchsorted`` over the links, and the children of each context length, at most the most any context
of that length has, are gathered at that fixed width and scattered onto the vocabulary, so every shape
is static.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from composer.symbolic.engines import TFEngine
from composer.symbolic.ngram_mix import Mixture


class MixedModel:
    """``model`` (an event model with ``step``, ``initial_state``, ``control_dim``) with ``mixture`` mixed in."""

    def __init__(self, model: Any, mixture: Mixture) -> None:
        state = mixture.state
        self.model, self.control_dim = model, model.control_dim
        self.weights = tf.constant(mixture.weights.astype(np.float32))  # by context length
        self.vocab_size, self.missing = state.vocab_size, state.missing
        self.begin = state.initial(1)[0]
        counts = np.diff(state.start)
        # The most children of a context of each length 1..order-1: short contexts have hundreds, long ones
        # a few, so each length is gathered at its own width.
        self.widths = [max(1, int(counts[low:high].max(initial=0)))
                       for low, high in zip(state.first_node[1:state.order], state.first_node[2:state.order + 1])]
        self.links = tf.Variable(state.links, trainable=False)
        self.links_count = len(state.links)
        # The links of a node's children are contiguous: a search within them needs a few halvings, not 20.
        self.first_link = tf.Variable(state.first_link, trainable=False)
        self.depth = int(np.ceil(np.log2(np.diff(state.first_link).max(initial=0) + 1))) + 1
        self.start = tf.Variable(state.start, trainable=False)
        self.backoff = tf.Variable(state.backoff.astype(np.float32), trainable=False)
        self.inverse_total = tf.Variable(state.inverse_total.astype(np.float32), trainable=False)
        self.child_event = tf.Variable(state.child_event.astype(np.int64), trainable=False)
        self.child_value = tf.Variable(state.child_value.astype(np.float32), trainable=False)
        self.root_children = tf.constant(state.root_children.astype(np.float32))

    def initial_state(self, batch: int) -> dict:
        return {"model": self.model.initial_state(batch), "ngram": tf.constant(np.tile(self.begin, (batch, 1)))}

    def step(self, events: tf.Tensor, controls: tf.Tensor | None, state: dict) -> tuple[tf.Tensor, dict]:
        """events [R] -> mixed log-probabilities [R, V] (as logits), the new state."""
        logits, inner = self.model.step(events, controls, state["model"])
        context = self.advance(state["ngram"], tf.cast(events, tf.int64))
        model_probs = tf.nn.softmax(tf.cast(logits, tf.float32))
        weight = tf.gather(self.weights, self.context_length(context))[:, None]
        probs = (1 - weight) * model_probs + weight * self.probabilities(context)
        return tf.math.log(probs), {"model": inner, "ngram": context}

    def advance(self, context: tf.Tensor, events: tf.Tensor) -> tf.Tensor:
        """``NgramState.advance``: int64 [R, order] after each row reads its event [R]."""
        parents = context[:, :-1]
        query = parents * (self.vocab_size + 1) + events[:, None]                             # (R, order - 1)
        found = self._lower_bound(query, parents)
        child = tf.where(tf.gather(self.links, found) == query, found + 1, self.missing)
        return tf.concat([tf.zeros_like(child[:, :1]), child], axis=1)

    def _lower_bound(self, query: tf.Tensor, parents: tf.Tensor) -> tf.Tensor:
        """The first link >= each query among its parent's children (clipped to the last link), by a binary
        search of fixed depth: XLA's own ``searchsorted`` compares every query with every link."""
        last = self.links_count - 1
        low, high = tf.gather(self.first_link, parents), tf.gather(self.first_link, parents + 1)
        for _ in range(self.depth):
            middle = (low + high) // 2
            below = tf.gather(self.links, tf.minimum(middle, last)) < query
            searching = low < high
            low = tf.where(searching & below, middle + 1, low)
            high = tf.where(searching & ~below, middle, high)
        return tf.minimum(low, last)

    def context_length(self, context: tf.Tensor) -> tf.Tensor:
        """``NgramState.context_length``: int64 [R]."""
        return tf.reduce_sum(tf.cast(tf.gather(self.inverse_total, context[:, 1:]) > 0, tf.int64), axis=1)

    def probabilities(self, context: tf.Tensor) -> tf.Tensor:
        """``NgramState.probabilities``: float32 [R, V]."""
        rows = tf.shape(context)[0]
        above = tf.reverse(tf.math.cumprod(tf.reverse(tf.gather(self.backoff, context), [1]), axis=1), [1])
        weight = tf.gather(self.inverse_total, context) * tf.concat([above[:, 1:], tf.ones([rows, 1])], axis=1)
        probs = above[:, :1] / self.vocab_size + weight[:, :1] * self.root_children[None]     # (R, V)
        row_start = tf.range(tf.cast(rows, tf.int64))[:, None] * self.vocab_size
        values, targets = [], []
        for length, width in enumerate(self.widths, start=1):
            first = tf.gather(self.start, context[:, length])
            count = tf.gather(self.start, context[:, length] + 1) - first
            offset = tf.range(width, dtype=tf.int64)
            inside = offset < count[:, None]                                                 # (R, width)
            index = tf.where(inside, first[:, None] + offset, 0)
            values.append(tf.where(inside, tf.gather(self.child_value, index), 0.0) * weight[:, length, None])
            targets.append(tf.gather(self.child_event, index) + row_start)
        scattered = tf.math.unsorted_segment_sum(tf.reshape(tf.concat(values, 1), [-1]),
                                                 tf.reshape(tf.concat(targets, 1), [-1]), rows * self.vocab_size)
        return probs + tf.reshape(scattered, [rows, self.vocab_size])


def compiled_engine(model: Any, mixture: Mixture) -> TFEngine:
    """The "tf" engine of ``model`` with ``mixture`` mixed in, built once per (model, mixture) so its loop
    compiles once."""
    if model not in mixture.compiled:
        mixed = MixedModel(model, mixture)
        mixture.compiled[model] = (mixed, TFEngine(mixed))  # the engine holds only a proxy of the mixed model
    return mixture.compiled[model][1]
