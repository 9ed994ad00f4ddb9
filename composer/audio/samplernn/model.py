"""SampleRNN (Mehri et al., ICLR 2017): raw audio one sample at a time, by a hierarchy of tiers.

Tiers, top to bottom:
  frame tiers  an RNN (GRU or LSTM) over non-overlapping frames of ``frame_size`` samples,
               real-valued (rescaled to [-2, 2)), one step per frame. Each step's output is
               upsampled by a learned linear map to ``ratio`` conditioning vectors, one per
               frame of the tier below (``ratio = frame_size / frame_size_below``).
  sample tier  an MLP over the embedded last ``window`` quantized samples plus the
               conditioning of the tier above, ending in a softmax over ``q_levels``.

With frame sizes (16, 4): the top tier ticks every 16 samples, the middle every 4, the MLP
at every sample. Training reads ``lookback + n`` samples (lookback = top frame size) and
predicts the last n; RNN state can be carried across consecutive windows (truncated BPTT).

``generate`` is one XLA-compiled loop: a frame tier runs once per frame and its upsampled
output is indexed, never recomputed; only the MLP runs per sample; nothing returns to Python.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import keras
import tensorflow as tf
from keras import ops

from composer.draws import draw_classes_tf

GENERATE_BLOCK_SAMPLES = 4096  # samples per compiled generation call (rounded down to top frames)
States = list  # per frame tier: per RNN layer: [h] (GRU) or [h, c] (LSTM), each [batch, dim]


def rescale(codes: tf.Tensor, q_levels: int) -> tf.Tensor:
    """Quantized levels to the real-valued frame-tier input in [-2, 2), as in the paper's code."""
    return (tf.cast(codes, tf.float32) / (q_levels / 2) - 1.0) * 2.0


class Linear(keras.layers.Layer):
    """A dense layer, optionally weight-normalized (Salimans & Kingma 2016): w = g * v / ||v||."""

    def __init__(self, units: int, *, weight_norm: bool = False, use_bias: bool = True,
                 initializer: str = "glorot_uniform", **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.weight_norm, self.use_bias, self.initializer = units, weight_norm, use_bias, initializer
        self._computed: dict = {}  # set by `kernels_computed_once`

    def build(self, input_shape) -> None:
        self.v = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.initializer, name="kernel")
        if self.weight_norm:  # g starts at ||v||, so training starts from the plain initialization
            self.g = self.add_weight(shape=(self.units,), name="gain",
                                     initializer=lambda shape, dtype=None: ops.norm(self.v, axis=0))
        if self.use_bias:
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def kernel(self) -> tf.Tensor:
        if "kernel" in self._computed:
            return self._computed["kernel"]
        if not self.weight_norm:
            return self.v
        return self.v * (self.g / ops.norm(self.v, axis=0))

    def call(self, x: tf.Tensor) -> tf.Tensor:
        y = ops.matmul(x, self.kernel())
        return y + self.b if self.use_bias else y


@contextlib.contextmanager
def kernels_computed_once(layers: list[Linear]) -> Iterator[None]:
    """While tracing a loop: compute each (weight-normalized) kernel once, outside the loop body."""
    for layer in layers:
        layer._computed["kernel"] = tf.identity(layer.kernel())
    try:
        yield
    finally:
        for layer in layers:
            layer._computed.clear()


class FrameTier(keras.layers.Layer):
    """A frame tier: an RNN stepping once per frame of ``frame_size`` samples.

    Input per step: the frame (linear projection to ``dim``) plus the conditioning vector
    from the tier above. Output per step: ``ratio`` conditioning vectors for the tier below.
    """

    def __init__(self, *, frame_size: int, ratio: int, dim: int, q_levels: int, cell: str = "gru",
                 rnn_layers: int = 1, weight_norm: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frame_size, self.ratio, self.dim, self.q_levels = frame_size, ratio, dim, q_levels
        self.expand = Linear(dim, weight_norm=weight_norm, initializer="he_uniform")
        rnn = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
        self.rnns = [rnn(dim, return_sequences=True, return_state=True) for _ in range(rnn_layers)]
        self.n_state = 2 if cell == "lstm" else 1
        self.upsample = Linear(ratio * dim, weight_norm=weight_norm, initializer="he_uniform")

    def build(self, input_shape=None) -> None:
        self.h0 = [[self.add_weight(shape=(self.dim,), initializer="zeros", name=f"h0_{layer}_{i}")
                    for i in range(self.n_state)] for layer in range(len(self.rnns))]
        self.expand.build((None, self.frame_size))
        for rnn in self.rnns:
            rnn.build((None, None, self.dim))
        self.upsample.build((None, self.dim))

    def initial_state(self, batch_size: int) -> States:
        """The learned initial state, broadcast to [batch_size, dim] per tensor."""
        return [[ops.broadcast_to(h[None], (batch_size, self.dim)) for h in layer] for layer in self.h0]

    def call(self, frames: tf.Tensor, conditioning: tf.Tensor | None, state: States) -> tuple[tf.Tensor, States]:
        """frames [batch, n_frames, frame_size] int, conditioning [batch, n_frames, dim] or None.

        Returns ([batch, n_frames * ratio, dim] conditioning for the tier below, final state).
        """
        x = self.expand(rescale(frames, self.q_levels))
        if conditioning is not None:
            x = x + conditioning
        new_state = []
        for rnn, layer_state in zip(self.rnns, state):
            x, *layer_state = rnn(x, initial_state=layer_state)
            new_state.append(layer_state)
        up = self.upsample(x)  # [batch, n_frames, ratio * dim]
        return ops.reshape(up, (ops.shape(up)[0], -1, self.dim)), new_state

    def step(self, frame: tf.Tensor, conditioning: tf.Tensor | None, state: States) -> tuple[tf.Tensor, States]:
        """One frame: frame [batch, frame_size] int -> ([batch, ratio, dim], new state)."""
        x = self.expand(rescale(frame, self.q_levels))
        if conditioning is not None:
            x = x + conditioning
        new_state = []
        for rnn, layer_state in zip(self.rnns, state):
            x, layer_state = rnn.cell(x, layer_state)
            new_state.append(list(layer_state))
        return ops.reshape(self.upsample(x), (-1, self.ratio, self.dim)), new_state


class SampleTier(keras.layers.Layer):
    """The sample tier: embed the last ``window`` samples, add the conditioning, MLP to logits."""

    def __init__(self, *, window: int, dim: int, q_levels: int, embed_dim: int, mlp_dims: tuple[int, ...],
                 weight_norm: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.window, self.dim, self.q_levels, self.embed_dim = window, dim, q_levels, embed_dim
        self.weight_norm = weight_norm
        self.hidden = [Linear(d, weight_norm=weight_norm, initializer="he_uniform") for d in mlp_dims]
        self.out = Linear(q_levels, weight_norm=weight_norm)

    def build(self, input_shape=None) -> None:
        self.embedding = self.add_weight(shape=(self.q_levels, self.embed_dim), name="embedding",
                                         initializer=keras.initializers.RandomNormal(stddev=1.0))
        # the input projection: a width-`window` convolution over the embedded samples, no bias
        self.v = self.add_weight(shape=(self.window, self.embed_dim, self.dim), name="input_kernel",
                                 initializer="he_uniform")
        if self.weight_norm:
            self.g = self.add_weight(shape=(self.dim,), name="input_gain",
                                     initializer=lambda shape, dtype=None: ops.norm(self.v, axis=(0, 1)))
        width = self.dim
        for layer in self.hidden:
            layer.build((None, width))
            width = layer.units
        self.out.build((None, width))

    def input_kernel(self) -> tf.Tensor:
        """[window, embed_dim, dim]."""
        if not self.weight_norm:
            return self.v
        return self.v * (self.g / tf.norm(self.v, axis=(0, 1)))

    def mlp(self, x: tf.Tensor) -> tf.Tensor:
        """[..., dim] input + conditioning -> [..., q_levels] logits."""
        x = ops.relu(x)
        for layer in self.hidden:
            x = ops.relu(layer(x))
        return self.out(x)

    def call(self, codes: tf.Tensor, conditioning: tf.Tensor) -> tf.Tensor:
        """codes [batch, n + window - 1] int, conditioning [batch, n, dim] -> logits [batch, n, q_levels]."""
        embedded = tf.gather(self.embedding, codes)  # [batch, n + window - 1, embed_dim]
        return self.mlp(ops.conv(embedded, self.input_kernel(), padding="valid") + conditioning)

    def lookup_table(self) -> tf.Tensor:
        """[window * q_levels, dim]: the input projection of each (position, level), for generation."""
        table = tf.einsum("qe,wed->wqd", self.embedding, self.input_kernel())
        return tf.reshape(table, (self.window * self.q_levels, self.dim))

    def step_input(self, table: tf.Tensor, recent: tf.Tensor) -> tf.Tensor:
        """recent [batch, window] int -> [batch, dim], the same as ``call``'s projection for one sample."""
        rows = recent + tf.range(self.window, dtype=recent.dtype) * self.q_levels
        return tf.reduce_sum(tf.gather(table, rows), axis=1)


class SampleRNN(keras.Model):
    """The tiers wired together, plus carried state for truncated BPTT.

    Args:
      frame_sizes: frame size of each frame tier, top first, each a multiple of the next
        (e.g. (16,) for 2-tier, (16, 4) for 3-tier). The sample tier reads the last
        ``frame_sizes[-1]`` samples.
      batch_size: the batch of the carried (TBPTT) state variables.
    """

    def __init__(self, *, frame_sizes: tuple[int, ...], dim: int, q_levels: int, embed_dim: int,
                 mlp_dims: tuple[int, ...], cell: str = "gru", rnn_layers: int = 1, weight_norm: bool = True,
                 batch_size: int = 1, silence: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frame_sizes, self.dim, self.q_levels = tuple(frame_sizes), dim, q_levels
        self.silence = q_levels // 2 if silence is None else silence
        ratios = [f // below for f, below in zip(frame_sizes, tuple(frame_sizes[1:]) + (1,))]
        self.frame_tiers = [
            FrameTier(frame_size=f, ratio=r, dim=dim, q_levels=q_levels, cell=cell, rnn_layers=rnn_layers,
                      weight_norm=weight_norm, name=f"frame_tier_{f}")
            for f, r in zip(frame_sizes, ratios)]
        self.sample_tier = SampleTier(window=frame_sizes[-1], dim=dim, q_levels=q_levels, embed_dim=embed_dim,
                                      mlp_dims=mlp_dims, weight_norm=weight_norm, name="sample_tier")
        for tier in self.frame_tiers:
            tier.build()
        self.sample_tier.build()
        self.carried = {mode: [self._carried_tier(mode, t, batch_size) for t in range(len(self.frame_tiers))]
                        for mode in ("train", "eval")}

    def _carried_tier(self, mode: str, t: int, batch_size: int) -> States:
        """Non-trainable variables [batch_size, dim] holding frame tier ``t``'s state between batches."""
        tier = self.frame_tiers[t]
        return [[self.add_weight(shape=(batch_size, self.dim), initializer="zeros", trainable=False,
                                 name=f"carried_{mode}_{t}_{layer}_{i}") for i in range(tier.n_state)]
                for layer in range(len(tier.rnns))]

    @property
    def lookback(self) -> int:
        """Samples before the first target that a window must include (the top frame size)."""
        return self.frame_sizes[0]

    def initial_states(self, batch_size: int) -> list[States]:
        return [tier.initial_state(batch_size) for tier in self.frame_tiers]

    def run_frame_tiers(self, codes: tf.Tensor, states: list[States]) -> tuple[tf.Tensor, list[States]]:
        """codes [batch, lookback + n] int -> (conditioning [batch, n, dim] for the sample tier, states).

        Tier with frame size F reads codes[lookback - F : lookback - F + n]: its frame j is the
        F samples just before the j-th F-sample block of targets.
        """
        n = codes.shape[1] - self.lookback
        conditioning, new_states = None, []
        for tier, state in zip(self.frame_tiers, states):
            start = self.lookback - tier.frame_size
            frames = ops.reshape(codes[:, start:start + n], (-1, n // tier.frame_size, tier.frame_size))
            conditioning, state = tier(frames, conditioning, state)
            new_states.append(state)
        return conditioning, new_states

    def forward(self, codes: tf.Tensor, states: list[States]) -> tuple[tf.Tensor, list[States]]:
        """codes [batch, lookback + n] int (n a multiple of the top frame size).

        Returns (logits [batch, n, q_levels] predicting codes[:, lookback:], final states).
        """
        conditioning, states = self.run_frame_tiers(codes, states)
        window = self.sample_tier.window
        return self.sample_tier(codes[:, self.lookback - window:-1], conditioning), states

    def call(self, codes: tf.Tensor) -> tf.Tensor:
        """Logits for codes[:, lookback:] from the learned initial state."""
        return self.forward(codes, self.initial_states(ops.shape(codes)[0]))[0]

    def forward_carried(self, codes: tf.Tensor, reset: tf.Tensor, *, mode: str) -> tf.Tensor:
        """``forward`` from the carried state of ``mode`` ("train"/"eval"), or the learned one when
        ``reset`` (scalar bool: a new stretch of audio starts); stores the final state. Truncated
        BPTT: no gradient flows into the carried state."""
        carried = self.carried[mode]
        initial = self.initial_states(ops.shape(codes)[0])
        states = tf.nest.map_structure(lambda h0, var: tf.where(reset, h0, var.value), initial, carried)
        logits, final = self.forward(codes, states)
        tf.nest.map_structure(lambda var, h: var.assign(tf.stop_gradient(h)), carried, final)
        return logits

    # ------------------------------------------------------------------ generation

    def generate(self, n_samples: int, *, batch_size: int = 1, temperature: float = 1.0, seed: int = 0,
                 primer: tf.Tensor | None = None, progress: Callable[[int], None] | None = None) -> tf.Tensor:
        """Sample ``n_samples`` new codes per sequence: int32 [batch_size, n_samples].

        primer: optional int codes that warm the tiers, [n] (one clip shared by the batch) or
        [batch_size, n]: the frame tiers read it in one parallel pass, and generation continues
        from its end.
        progress: called after each block with the number of samples generated so far.
        """
        history = tf.fill((batch_size, self.lookback), tf.constant(self.silence, tf.int32))
        states = self.initial_states(batch_size)
        if primer is not None:
            history, states = self._warm_up(tf.cast(primer, tf.int32), batch_size)
        sampling = (tf.constant(float(temperature)), tf.constant(int(seed), tf.int64))
        blocks, n_frames = [], -(-n_samples // self.lookback)
        for first_frame in range(0, n_frames, self.block_frames):
            codes, history, states = self._generate_block(history, states, *sampling,
                                                          tf.constant(first_frame, tf.int64))
            blocks.append(codes)
            if progress:
                progress(min(n_samples, (first_frame + self.block_frames) * self.lookback))
        return tf.concat(blocks, axis=1)[:, :n_samples]

    @property
    def block_frames(self) -> int:
        """Top frames per compiled call: one fixed size, so any length reuses one compilation."""
        return max(1, GENERATE_BLOCK_SAMPLES // self.lookback)

    def _warm_up(self, primer: tf.Tensor, batch_size: int) -> tuple[tf.Tensor, list[States]]:
        """Left-pad the primer with silence to lookback + a whole number of top frames, run the frame tiers."""
        codes = tf.broadcast_to(primer, (batch_size, primer.shape[-1]))
        n = int(primer.shape[-1])
        padded_n = self.lookback + max(0, -(-(n - self.lookback) // self.lookback)) * self.lookback
        codes = tf.concat([tf.fill((batch_size, padded_n - n), self.silence), codes], axis=1)
        states = self.initial_states(batch_size)
        if padded_n > self.lookback:
            states = self._warm_states(codes, states)
        return codes[:, -self.lookback:], states

    @tf.function(jit_compile=True)
    def _warm_states(self, codes, states):
        """The frame tiers' final states over codes [batch, lookback + n], compiled: run eagerly, the
        RNN loop costs a Python iteration per frame (seconds for a 2 s primer)."""
        return self.run_frame_tiers(codes, states)[1]

    @tf.function(jit_compile=True)
    def _generate_block(self, history, states, temperature, seed, first_frame):
        """The compiled loop over ``block_frames`` top frames: one iteration per top frame.

        Returns (codes [batch, block_frames * lookback], history, states) to continue from.
        """
        table = self.sample_tier.lookup_table()
        frames = tf.TensorArray(tf.int32, size=self.block_frames)

        def body(i, history, states, frames):
            # one uniform per sample of this top frame: [lookback, batch]
            uniform = tf.random.stateless_uniform((self.lookback, tf.shape(history)[0]),
                                                  seed=tf.stack([seed, first_frame + tf.cast(i, tf.int64)]))
            history, states, _ = self._step(0, None, (history, states, tf.constant(0)), (table, temperature, uniform))
            return i + 1, history, states, frames.write(i, history)

        with kernels_computed_once(self.linears()):
            _, history, states, frames = tf.while_loop(lambda i, *_: i < self.block_frames, body,
                                                       (tf.constant(0), history, states, frames))
        codes = tf.reshape(tf.transpose(frames.stack(), (1, 0, 2)), (tf.shape(history)[0], -1))
        return codes, history, states

    def linears(self) -> list[Linear]:
        """Every Linear layer, for computing their kernels once per generation."""
        return [layer for tier in self.frame_tiers for layer in (tier.expand, tier.upsample)] + \
            self.sample_tier.hidden + [self.sample_tier.out]

    def _step(self, level: int, conditioning, carry, sampling):
        """One step of tier ``level``: a frame tier steps once then runs the tier below ``ratio``
        times on its upsampled output; the sample tier draws one sample."""
        history, states, count = carry
        if level == len(self.frame_tiers):
            return self._draw(history, conditioning, count, sampling), states, count + 1
        tier = self.frame_tiers[level]
        upsampled, state = tier.step(history[:, -tier.frame_size:], conditioning, states[level])
        states = states[:level] + [state] + states[level + 1:]

        def body(j, history, states, count):
            return (j + 1, *self._step(level + 1, upsampled[:, j], (history, states, count), sampling))

        _, *carry = tf.while_loop(lambda j, *_: j < tier.ratio, body, (tf.constant(0), history, states, count))
        return tuple(carry)

    def _draw(self, history, conditioning, count, sampling):
        """Sample one level per sequence at ``temperature`` (0 = argmax) and shift it into history."""
        table, temperature, uniform = sampling
        window = self.sample_tier.window
        logits = self.sample_tier.mlp(self.sample_tier.step_input(table, history[:, -window:]) + conditioning)
        code = draw_classes_tf(logits, uniform[count], temperature=temperature)
        return tf.concat([history[:, 1:], code[:, None]], axis=1)

