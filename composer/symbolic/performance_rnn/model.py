"""Performance RNN (Simon & Oore, 2017): one-hot events (+ controls) -> LSTM stack -> softmax.

    x_t = [one_hot(e_t); c_{t+1}]            event, and the controls of the event to predict
    h^l_t = LSTM^l(h^{l-1}_t, h^l_{t-1})     l = 1..L (3 x 512 in the paper)
    p(e_{t+1} | e_{<=t}) = softmax(W h^L_t + b)

The LSTM layer itself (a CPU-fast kernel) is in ``composer.symbolic.performance_rnn.lstm``.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from composer.symbolic.performance_rnn.lite import PerformanceStep, lite_step
from composer.symbolic.performance_rnn.lstm import FastLSTM


class PerformanceRNN(keras.Model):
    """Events [B, T] int32 (+ controls [B, T, C]) -> next-event logits [B, T, num_classes].

    Args:
      num_classes: size of the event vocabulary (388 or 356).
      layer_sizes: LSTM hidden sizes, bottom to top.
      control_dim: width of the control vector fed at every step (0: unconditioned).
      embedding_dim: 0 feeds one-hot events (Magenta); > 0 learns an embedding first.
      dropout: dropout between LSTM layers during training.
    """

    def __init__(self, num_classes: int, *, layer_sizes: tuple[int, ...] = (512, 512, 512), control_dim: int = 0,
                 embedding_dim: int = 0, dropout: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes, self.control_dim = num_classes, control_dim
        self.embedding = keras.layers.Embedding(num_classes, embedding_dim) if embedding_dim else None
        self.lstms = [FastLSTM(size, num_classes=num_classes if (i == 0 and not embedding_dim) else 0)
                      for i, size in enumerate(layer_sizes)]
        self.dropout = keras.layers.Dropout(dropout) if dropout else None
        self.logits = keras.layers.Dense(num_classes)

    def _first_inputs(self, events: tf.Tensor, controls: tf.Tensor | None) -> tuple:
        """What the bottom LSTM reads: (dense part or None, one-hot classes or None)."""
        dense = [self.embedding(events)] if self.embedding is not None else []
        dense += [controls] if self.control_dim else []
        dense = tf.concat(dense, axis=-1) if dense else None
        return dense, (None if self.embedding is not None else events)

    def call(self, inputs: dict, training: bool = False) -> tf.Tensor:
        """inputs: {"events": [B, T] int32, "controls": [B, T, C] float32 if conditioned}."""
        x, classes = self._first_inputs(inputs["events"], inputs.get("controls"))
        for lstm in self.lstms:
            x, classes = lstm(x, classes), None                      # [B, T, H]
            if self.dropout is not None:
                x = self.dropout(x, training=training)
        return self.logits(x)                                        # [B, T, V]

    def initial_state(self, batch: int) -> list[tuple[tf.Tensor, tf.Tensor]]:
        """Zero (h, c) per layer, each [batch, H]."""
        return [(tf.zeros([batch, lstm.units]), tf.zeros([batch, lstm.units])) for lstm in self.lstms]

    def step(self, events: tf.Tensor, controls: tf.Tensor | None, states: list) -> tuple:
        """One sampling step: events [B], controls [B, C] -> logits [B, V], new states."""
        x, classes = self._first_inputs(events, controls)
        new_states = []
        for lstm, state in zip(self.lstms, states):
            x, state = lstm.step(x, classes, state)
            classes = None
            new_states.append(state)
        return self.logits(x), new_states

    def lite_engine(self) -> PerformanceStep:
        """The "tflite" sampling engine (``composer.symbolic.engines``): this model's step with int8
        weights, exported once per model object."""
        return lite_step(self)
