"""Music Transformer (Huang et al., 2018): a decoder-only Transformer with relative attention.

    x_0 = Embed(e_t) + W_c c_{t+1}               event, and the controls of the event to predict
    x_l = x_{l-1} + RelAttn(LN(x_{l-1}))         causal, relative positions (attention.py)
    x_l = x_l + FFN(LN(x_l))                     l = 1..L
    p(e_{t+1} | e_{<=t}) = softmax(W LN(x_L) + b)

Pre-norm blocks as GPT-2 and nanoGPT (trains without warm-up at small sizes); no absolute
position signal, as relative attention gives the order, which lets sampling keep a ring buffer
of keys and values and run any length at one step per event. The events, controls and batches
are the Performance RNN's, so both families share the data pipeline and the sampler.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from composer.symbolic.music_transformer.attention import RelativeSelfAttention


class DecoderBlock(keras.layers.Layer):
    """Pre-norm Transformer block: relative self-attention, then a GELU feed-forward net."""

    def __init__(self, width: int, heads: int, ff_dim: int, span: int, *, dropout: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.norm_attention = keras.layers.LayerNormalization(epsilon=1e-5)
        self.attention = RelativeSelfAttention(width, heads, width // heads, span, dropout=dropout)
        self.norm_ff = keras.layers.LayerNormalization(epsilon=1e-5)
        self.ff_in = keras.layers.Dense(ff_dim, activation="gelu")
        self.ff_out = keras.layers.Dense(width)
        self.dropout = keras.layers.Dropout(dropout)

    def feed_forward(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.dropout(self.ff_out(self.ff_in(self.norm_ff(x))), training=training)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """x (B, T, D) -> (B, T, D)."""
        x = x + self.dropout(self.attention(self.norm_attention(x), training=training), training=training)
        return x + self.feed_forward(x, training=training)

    def step(self, x: tf.Tensor, cache: tuple, position: tf.Tensor) -> tuple:
        """x (B, D) at ``position`` (B,) -> (B, D), updated key/value cache."""
        attended, cache = self.attention.step(self.norm_attention(x), cache, position)
        x = x + attended
        return x + self.feed_forward(x), cache


class MusicTransformer(keras.Model):
    """Events [B, T] int32 (+ controls [B, T, C]) -> next-event logits [B, T, num_classes].

    Args:
      num_classes: size of the event vocabulary (388 or 356).
      layers: number of decoder blocks L.
      width: model width D (split over ``heads``).
      heads: attention heads per block.
      ff_dim: hidden size of each block's feed-forward net.
      span: how many past events (itself included) each position attends to.
      control_dim: width of the control vector fed at every step (0: unconditioned).
      dropout: on attention weights and on each residual branch, in training.
    """

    def __init__(self, num_classes: int, *, layers: int = 4, width: int = 256, heads: int = 4, ff_dim: int = 1024,
                 span: int = 1024, control_dim: int = 0, dropout: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes, self.control_dim, self.span = num_classes, control_dim, span
        self.embedding = keras.layers.Embedding(num_classes, width)
        self.control_projection = keras.layers.Dense(width, use_bias=False) if control_dim else None
        self.blocks = [DecoderBlock(width, heads, ff_dim, span, dropout=dropout, name=f"block_{i}")
                       for i in range(layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5)
        self.logits = keras.layers.Dense(num_classes)

    def _embed(self, events: tf.Tensor, controls: tf.Tensor | None) -> tf.Tensor:
        """events [...] (+ controls [..., C]) -> [..., D]."""
        x = self.embedding(events)
        return x + self.control_projection(controls) if self.control_projection is not None else x

    def call(self, inputs: dict, training: bool = False) -> tf.Tensor:
        """inputs: {"events": [B, T] int32, "controls": [B, T, C] float32 if conditioned}."""
        x = self._embed(inputs["events"], inputs.get("controls"))                  # (B, T, D)
        for block in self.blocks:
            x = block(x, training=training)                                         # (B, T, D)
        return self.logits(self.final_norm(x))                                      # (B, T, V)

    def initial_state(self, batch: int) -> dict:
        """Sampling state: the next position (B,) and each block's empty key/value ring buffer."""
        return {"position": tf.zeros([batch], tf.int32),
                "caches": [block.attention.empty_cache(batch) for block in self.blocks]}

    def step(self, events: tf.Tensor, controls: tf.Tensor | None, state: dict) -> tuple:
        """One sampling step: events [B], controls [B, C] -> logits [B, V], new state."""
        x = self._embed(events, controls)                                           # (B, D)
        caches = []
        for block, cache in zip(self.blocks, state["caches"]):
            x, cache = block.step(x, cache, state["position"])
            caches.append(cache)
        logits = tf.cast(self.logits(self.final_norm(x)), tf.float32)  # (B, V); the sampler works in float32
        return logits, {"position": state["position"] + 1, "caches": caches}
