"""The LSTM layer of the Performance RNN, written for CPU speed.

The input projection of all time steps is one big matmul (a row lookup for the one-hot part),
only ``h @ U`` runs inside the time loop, and the backward pass is hand-written so the weight
gradients are again one big matmul each instead of one small matmul per step. Weights are
ordinary Keras variables (gates i, f, g, o as in ``keras.layers.LSTM``), so checkpoints and
``step`` (used by the sampler) share them.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def lstm_cell(z: tf.Tensor, c_prev: tf.Tensor) -> tuple[tf.Tensor, ...]:
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
        h, c, gates = lstm_cell(inputs.read(t) + tf.matmul(h, recurrent_kernel), c)
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
        h, c, _ = lstm_cell(z, c)
        return h, (h, c)
