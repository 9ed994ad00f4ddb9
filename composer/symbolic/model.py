"""Performance RNN (Simon & Oore, 2017): one-hot events (+ controls) -> LSTM stack -> softmax.

    x_t = [one_hot(e_t); c_{t+1}]            event, and the controls of the event to predict
    h^l_t = LSTM^l(h^{l-1}_t, h^l_{t-1})     l = 1..L (3 x 512 in the paper)
    p(e_{t+1} | e_{<=t}) = softmax(W h^L_t + b)

The LSTM layer is written for CPU speed: the input projection of all time steps is one big
matmul (a row lookup for the one-hot part), only ``h @ U`` runs inside the time loop, and the
backward pass is hand-written so the weight gradients are again one big matmul each instead
of one small matmul per step. Weights are ordinary Keras variables (gates i, f, g, o as in
``keras.layers.LSTM``), so checkpoints and ``step`` (used by the sampler) share them.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _gates(z: tf.Tensor, c_prev: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """LSTM cell from pre-activations z [B, 4H]: returns h, c and the activated gates [B, 4H]."""
    i, f, g, o = tf.split(z, 4, axis=-1)
    i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
    c = f * c_prev + i * g
    h = o * tf.tanh(c)
    return h, c, tf.concat([i, f, g, o], axis=-1)


@tf.custom_gradient
def lstm_recurrence(xw: tf.Tensor, recurrent_kernel: tf.Tensor):
    """Run the recurrence over projected inputs xw [T, B, 4H] from a zero state; returns h [T, B, H]."""
    steps, batch, units = tf.shape(xw)[0], tf.shape(xw)[1], tf.shape(recurrent_kernel)[0]
    zeros = tf.zeros([batch, units], xw.dtype)
    inputs = tf.TensorArray(xw.dtype, size=steps).unstack(xw)
    arrays = [tf.TensorArray(xw.dtype, size=steps) for _ in range(3)]  # h, c, gates

    def forward(t, h, c, hs, cs, gs):
        h, c, gates = _gates(inputs.read(t) + tf.matmul(h, recurrent_kernel), c)
        return t + 1, h, c, hs.write(t, h), cs.write(t, c), gs.write(t, gates)

    _, _, _, hs, cs, gs = tf.while_loop(lambda t, *_: t < steps, forward, [0, zeros, zeros, *arrays])
    hs, cs, gs = hs.stack(), cs.stack(), gs.stack()

    def grad(dhs: tf.Tensor):
        c_prev_all = tf.concat([zeros[None], cs[:-1]], axis=0)
        dh_out = tf.TensorArray(xw.dtype, size=steps).unstack(dhs)
        dzs = tf.TensorArray(xw.dtype, size=steps)

        def backward(t, dh_next, dc_next, dzs):
            i, f, g, o = tf.split(gs[t], 4, axis=-1)
            tanh_c = tf.tanh(cs[t])
            dh = dh_out.read(t) + dh_next
            dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
            dz = tf.concat([dc * g * i * (1.0 - i), dc * c_prev_all[t] * f * (1.0 - f),
                            dc * i * (1.0 - g * g), dh * tanh_c * o * (1.0 - o)], axis=-1)
            return t - 1, tf.matmul(dz, recurrent_kernel, transpose_b=True), dc * f, dzs.write(t, dz)

        *_, dzs = tf.while_loop(lambda t, *_: t >= 0, backward, [steps - 1, zeros, zeros, dzs])
        dz = dzs.stack()                                               # [T, B, 4H]
        h_prev = tf.reshape(tf.concat([zeros[None], hs[:-1]], axis=0), [-1, units])
        d_recurrent = tf.matmul(h_prev, tf.reshape(dz, [-1, 4 * units]), transpose_a=True)
        return dz, d_recurrent

    return hs, grad


def _unit_forget_bias(shape, dtype=None) -> tf.Tensor:
    """Bias 0 for the i, g, o gates and 1 for the forget gate (as Magenta's forget_bias=1)."""
    units = shape[0] // 4
    return tf.concat([tf.zeros([units]), tf.ones([units]), tf.zeros([2 * units])], 0)


class FastLSTM(keras.layers.Layer):
    """An LSTM layer over [B, T, D] inputs and optional one-hot classes [B, T] (a row lookup).

    Args:
      units: hidden size H.
      num_classes: width of the one-hot part of the input (0: none).
    """

    def __init__(self, units: int, *, num_classes: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.num_classes = units, num_classes

    def build(self, dense_shape) -> None:
        dense_dim = int(dense_shape[-1]) if dense_shape is not None else 0
        self.kernel = self.add_weight(name="kernel", shape=(self.num_classes + dense_dim, 4 * self.units),
                                      initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, 4 * self.units),
                                                initializer="orthogonal")
        self.bias = self.add_weight(name="bias", shape=(4 * self.units,), initializer=_unit_forget_bias)

    def project(self, dense: tf.Tensor | None, classes: tf.Tensor | None) -> tf.Tensor:
        """Input pre-activations [..., 4H] = one_hot(classes) @ K[:V] + dense @ K[V:] + b."""
        kernel = tf.convert_to_tensor(self.kernel)
        z = tf.convert_to_tensor(self.bias)
        if classes is not None:
            z = z + tf.gather(kernel, classes)               # the one-hot rows come first
        if dense is not None:  # slice only when there is a one-hot part (XLA may copy a slice per step)
            z = z + tf.tensordot(dense, kernel[self.num_classes:] if self.num_classes else kernel, axes=1)
        return z

    def call(self, dense: tf.Tensor | None, classes: tf.Tensor | None = None) -> tf.Tensor:
        """[B, T, D] (and classes [B, T]) -> hidden states [B, T, H], from a zero state."""
        xw = self.project(dense, classes)                             # [B, T, 4H]
        hs = lstm_recurrence(tf.transpose(xw, [1, 0, 2]), tf.convert_to_tensor(self.recurrent_kernel))
        return tf.transpose(hs, [1, 0, 2])

    def step(self, dense: tf.Tensor | None, classes: tf.Tensor | None, state: tuple) -> tuple:
        """One time step: inputs [B, D] / classes [B], state (h, c) each [B, H] -> (h, (h, c))."""
        h, c = state
        z = self.project(dense, classes) + tf.matmul(h, tf.convert_to_tensor(self.recurrent_kernel))
        h, c, _ = _gates(z, c)
        return h, (h, c)


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
        for i, lstm in enumerate(self.lstms):  # tf.train.Checkpoint does not track layers held in a list
            setattr(self, f"lstm_{i}", lstm)
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
