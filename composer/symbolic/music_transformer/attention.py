"""Causal self-attention with relative positions (Shaw et al. 2018) in Huang et al.'s memory-efficient form.

Written by hand because keras-hub's attention and decoder layers (``CachedMultiHeadAttention``,
``TransformerDecoder``) know absolute positions only: none adds the term that makes the Music
Transformer, a learned embedding ``r_d`` per head and per distance ``d = i - j`` in the logits:

    logits_ij = (q_i . k_j + q_i . r_{i-j}) / sqrt(D_h)      for 0 <= i - j < span, else masked

Huang et al. ("Music Transformer", 2018, section 3.4) compute every ``q_i . r_d`` as one matmul
``Q E^T`` (E: the embeddings of distances T-1 .. 0) and "skew" it into place with a pad and a
reshape, so memory stays O(T D) for the embeddings instead of Shaw et al.'s O(T^2 D) tensor.

Attention is banded to the last ``span`` positions (``span`` = number of learned distances).
Keys carry no position, so sampling keeps a ring buffer of the last ``span`` keys and values and
each event costs one step, equal to the full forward pass at any length (see ``step``).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf


def skew(rel_logits: tf.Tensor) -> tf.Tensor:
    """(B, H, T, T) logits by column j = distance T-1-j -> (B, H, T, T) by key k = distance i-k.

    Pad one zero column in front, view the (T, T+1) rows as (T+1, T), drop the first row: row i
    then starts at column T-1-i of the input, so entry (i, k) is the input's (i, k + T-1-i).
    Entries with k > i are left-over values and must be masked by the caller.
    """
    batch, heads, length = tf.shape(rel_logits)[0], tf.shape(rel_logits)[1], tf.shape(rel_logits)[2]
    padded = tf.pad(rel_logits, [[0, 0], [0, 0], [0, 0], [1, 0]])             # (B, H, T, T+1)
    return tf.reshape(padded, [batch, heads, length + 1, length])[:, :, 1:, :]  # (B, H, T, T)


def band_mask(length: tf.Tensor, span: int) -> tf.Tensor:
    """(T, T) bool: query i may attend key k when 0 <= i - k < span."""
    distance = tf.range(length)[:, None] - tf.range(length)[None, :]
    return (distance >= 0) & (distance < span)


class RelativeSelfAttention(keras.layers.Layer):
    """Causal multi-head self-attention over (B, T, D) with relative-position logits.

    Args:
      width: model width D (inputs and outputs).
      heads: number of heads H.
      key_dim: size D_h of each head's queries, keys and values.
      span: distances 0 .. span-1 have an embedding; a query sees the last ``span`` positions.
      dropout: dropout on the attention weights in training.
    """

    def __init__(self, width: int, heads: int, key_dim: int, span: int, *, dropout: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.heads, self.key_dim, self.span = heads, key_dim, span
        self.qkv = keras.layers.Dense(3 * heads * key_dim, use_bias=False, name="qkv")
        self.out = keras.layers.Dense(width, name="out")
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape) -> None:
        self.qkv.build(input_shape)
        self.out.build((*input_shape[:-1], self.heads * self.key_dim))
        self.relative = self.add_weight(name="relative", shape=(self.heads, self.span, self.key_dim),
                                        initializer=keras.initializers.RandomNormal(stddev=self.key_dim ** -0.5))

    def _split_heads(self, x: tf.Tensor) -> list[tf.Tensor]:
        """(..., 3 H D_h) -> q, k, v each (..., H, D_h)."""
        shape = tf.concat([tf.shape(x)[:-1], [3, self.heads, self.key_dim]], 0)
        return tf.unstack(tf.reshape(x, shape), axis=-3)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """x (B, T, D) -> (B, T, D); position i attends to positions i-span+1 .. i."""
        q, k, v = (tf.transpose(t, [0, 2, 1, 3]) for t in self._split_heads(self.qkv(x)))  # (B, H, T, D_h)
        length = tf.shape(x)[1]
        distances = tf.minimum(tf.range(length - 1, -1, -1), self.span - 1)  # column j: distance T-1-j
        embeddings = tf.gather(tf.cast(self.relative, q.dtype), distances, axis=1)  # (H, T, D_h)
        rel = skew(tf.einsum("bhid,hjd->bhij", q, embeddings))                    # (B, H, T, T)
        logits = (tf.matmul(q, k, transpose_b=True) + rel) / math.sqrt(self.key_dim)
        logits = tf.where(band_mask(length, self.span), logits, logits.dtype.min)
        weights = self.dropout(tf.nn.softmax(logits, axis=-1), training=training)
        y = tf.transpose(tf.matmul(weights, v), [0, 2, 1, 3])                      # (B, T, H, D_h)
        return self.out(tf.reshape(y, [tf.shape(x)[0], length, self.heads * self.key_dim]))

    def empty_cache(self, batch: int) -> tuple[tf.Tensor, tf.Tensor]:
        """Keys and values of the last ``span`` positions, each (B, H, span, D_h), all zero, in the
        layer's compute dtype (float16 under mixed precision, as the keys it will hold)."""
        return (tf.zeros([batch, self.heads, self.span, self.key_dim], self.compute_dtype),) * 2

    def step(self, x: tf.Tensor, cache: tuple[tf.Tensor, tf.Tensor], position: tf.Tensor) -> tuple:
        """One position: x (B, D) at absolute ``position`` (B,) -> (B, D) and the updated cache.

        Position p lives in slot p % span of the ring buffer, so slot s holds the key at distance
        (p - s) % span; slots not yet written (distance > p) are masked.
        """
        q, k, v = self._split_heads(self.qkv(x))                                  # (B, H, D_h) each
        batch = tf.shape(x)[0]
        rows = tf.stack(tf.meshgrid(tf.range(batch), tf.range(self.heads), indexing="ij"), -1)  # (B, H, 2)
        slots = tf.broadcast_to((position % self.span)[:, None, None], [batch, self.heads, 1])
        where = tf.concat([rows, slots], -1)                                       # (B, H, 3)
        keys = tf.tensor_scatter_nd_update(cache[0], where, k)                    # (B, H, S, D_h)
        values = tf.tensor_scatter_nd_update(cache[1], where, v)
        distance = (position[:, None] - tf.range(self.span)[None, :]) % self.span  # (B, S)
        rel = tf.einsum("bhd,hsd->bhs", q, tf.cast(self.relative, q.dtype))        # (B, H, S) by distance
        rel = tf.gather(rel, distance, axis=2, batch_dims=1)                       # (B, H, S) by slot
        logits = (tf.squeeze(tf.matmul(keys, q[..., None]), -1) + rel) / math.sqrt(self.key_dim)
        logits = tf.where((distance <= position[:, None])[:, None, :], logits, logits.dtype.min)
        y = tf.squeeze(tf.matmul(tf.nn.softmax(logits, axis=-1)[:, :, None, :], values), 2)  # (B, H, D_h)
        return self.out(tf.reshape(y, [-1, self.heads * self.key_dim])), (keys, values)
