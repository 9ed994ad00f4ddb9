"""LSTM+VAE over audio frames: a recurrent net with a latent variable per step.

At frame t a stack of recurrent layers has read frames x_1..x_t (each through a linear
projection to ``units``) into h_t. A latent z_t explains what h_t cannot predict about the
next frame x_{t+1} (a variational RNN, Chung et al. 2015, with the frame fed back, not z):

    prior      p(z_t | h_t)            = N(mu_p, sigma_p^2)     # used when generating
    posterior  q(z_t | h_t, x_{t+1})   = N(mu_q, sigma_q^2)     # used when training
    decoder    p(x_{t+1} | h_t, z_t)   = N(dec(h_t, z_t), diag(s^2))   # linear output, no cap;
                                                                   # s: a learned scale per feature
    loss per frame = -log p(x_{t+1} | h_t, z_t) + beta * KL(q || p),  z_t ~ q
                   = sum_f [ (x_f - dec_f)^2 / (2 s_f^2) + log s_f ] + beta * KL   (nats, no 2pi term)

Generating draws z_t = mu_p + T * sigma_p * eps and x_{t+1} = dec(h_t, z_t) + T * s * eps' at
temperature T: without the second draw the output is the conditional mean, which fades toward
silence wherever the next frame is uncertain. ``latent_dim == 0`` is the deterministic GRUV-style
plain LSTM: no z, and it emits the mean (the scale is still learned, so its loss is comparable).
Frames are normalized feature vectors [feature_dim] (see composer.audio.transforms).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


class GaussianHead(keras.layers.Layer):
    """An MLP to the mean and log-variance of a diagonal Gaussian over ``latent_dim`` values."""

    def __init__(self, latent_dim: int, hidden_units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(hidden_units, activation="tanh")
        self.out = keras.layers.Dense(2 * latent_dim)

    def call(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        mean, log_var = tf.split(self.out(self.hidden(x)), 2, axis=-1)
        return mean, tf.clip_by_value(log_var, -12.0, 8.0)  # keeps exp() finite, far outside learned range


def gaussian_kl(mean_q: tf.Tensor, log_var_q: tf.Tensor, mean_p: tf.Tensor, log_var_p: tf.Tensor) -> tf.Tensor:
    """KL(N_q || N_p) in nats, summed over the last axis: [..., latent] -> [...]."""
    ratio = (tf.exp(log_var_q) + tf.square(mean_q - mean_p)) * tf.exp(-log_var_p)
    return 0.5 * tf.reduce_sum(log_var_p - log_var_q + ratio - 1.0, axis=-1)


class LstmVae(keras.Model):
    """Predicts the next frame from the frames so far; see the module docstring for the maths."""

    def __init__(self, *, feature_dim: int, cell: str = "lstm", layers: int = 2, units: int = 512,
                 latent_dim: int = 32, decoder_units: int = 512, beta: float = 1.0, kl_warmup_steps: int = 0,
                 log_scale_init: np.ndarray | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.feature_dim, self.latent_dim = feature_dim, latent_dim
        self.beta, self.kl_warmup_steps = beta, kl_warmup_steps
        # A linear frame projection: a low-rank factor of the first layer's input weights, so the
        # cost per step grows as feature_dim * units rather than feature_dim * 4 * units.
        self.project = keras.layers.Dense(units, name="project")
        self.recurrent = [CELLS[cell](units, return_sequences=True, name=f"{cell}_{i}") for i in range(layers)]
        if latent_dim:
            self.prior = GaussianHead(latent_dim, units, name="prior")
            self.posterior = GaussianHead(latent_dim, units, name="posterior")
        self.decoder_hidden = keras.layers.Dense(decoder_units, activation="relu", name="decoder_hidden")
        self.decoder_out = keras.layers.Dense(feature_dim, name="decoder_out")
        # log_scale_init [feature_dim]: the data's own spread, so the scale need not be learned from 1
        scale_init = "zeros" if log_scale_init is None else keras.initializers.Constant(log_scale_init)
        self.log_scale = self.add_weight(shape=(feature_dim,), initializer=scale_init, name="log_scale")
        # Training steps taken, for the KL warm-up; a model variable so checkpoints resume it.
        self.step = keras.Variable(0, dtype="int64", trainable=False, name="step",
                                   aggregation="only_first_replica")

    def decode(self, h: tf.Tensor, z: tf.Tensor | None) -> tf.Tensor:
        """Mean of the next frame: [..., units] (+ [..., latent]) -> [..., feature_dim]."""
        x = h if z is None else tf.concat([h, z], axis=-1)
        return self.decoder_out(self.decoder_hidden(x))

    def call(self, frames: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """Teacher-forced pass over frames [batch, time + 1, feature_dim].

        Returns (prediction [batch, time, feature_dim] of frames 1..time, KL [batch, time]).
        """
        h, targets = self.project(frames[:, :-1]), frames[:, 1:]
        for layer in self.recurrent:
            h = layer(h, training=training)
        if not self.latent_dim:
            return self.decode(h, None), tf.zeros(tf.shape(h)[:2])
        mean_p, log_var_p = self.prior(h)
        mean_q, log_var_q = self.posterior(tf.concat([h, targets], axis=-1))
        z = mean_q + tf.exp(0.5 * log_var_q) * tf.random.normal(tf.shape(mean_q))
        return self.decode(h, z), gaussian_kl(mean_q, log_var_q, mean_p, log_var_p)

    def frame_losses(self, frames: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """(reconstruction, KL), each [batch, time] in nats per frame (Gaussian NLL without its 2pi term)."""
        prediction, kl = self(frames, training=training)
        error = tf.square(prediction - frames[:, 1:]) * tf.exp(-2.0 * self.log_scale)
        reconstruction = tf.reduce_sum(0.5 * error + self.log_scale, axis=-1)
        return reconstruction, kl

    def kl_weight(self) -> tf.Tensor:
        """beta, ramped up linearly from 0 over the first ``kl_warmup_steps`` training steps.

        The ramp (Bowman et al. 2016) lets the decoder learn to use z before the KL term
        pushes the posterior onto the prior; it follows ``self.step`` so a resumed run continues it.
        """
        if not self.kl_warmup_steps:
            return tf.constant(self.beta, tf.float32)
        progress = tf.cast(self.step, tf.float32) / float(self.kl_warmup_steps)
        return self.beta * tf.minimum(1.0, progress)

    def zero_states(self, batch: int) -> list[list[tf.Tensor]]:
        """Initial recurrent states, one list of [batch, units] tensors per layer."""
        return [[tf.zeros([batch, layer.units]) for _ in range(2 if isinstance(layer, keras.layers.LSTM) else 1)]
                for layer in self.recurrent]

    def step_frame(self, frame: tf.Tensor, states: list, noise: tf.Tensor) -> tuple[tf.Tensor, list]:
        """One generation step: frame [batch, feature_dim] -> next frame, new states.

        ``noise`` [batch, latent_dim + feature_dim] is temperature * standard normal: the latent
        draw, then the observation draw.
        """
        h, new_states = self.project(frame), []
        for layer, state in zip(self.recurrent, states):
            h, state = layer.cell(h, state)
            new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
        if not self.latent_dim:
            return self.decode(h, None), new_states  # the deterministic baseline emits the mean
        z_noise, x_noise = noise[:, :self.latent_dim], noise[:, self.latent_dim:]
        mean_p, log_var_p = self.prior(h)
        mean = self.decode(h, mean_p + tf.exp(0.5 * log_var_p) * z_noise)
        return mean + tf.exp(self.log_scale) * x_noise, new_states

    def generate(self, primer: tf.Tensor, n_frames: int, *, temperature: float, seed: int,
                 limit: tf.Tensor, jit_compile: bool = True, lite: bool = False) -> tf.Tensor:
        """Continue ``primer`` [batch, primer_frames, feature_dim] by ``n_frames`` frames.

        The net first reads the primer (warm-up), then feeds each generated frame back in, all in
        one compiled loop. Fed-back frames are clipped to +-``limit`` [feature_dim] so a diverging
        sample cannot reach inf/NaN. Returns [batch, n_frames, feature_dim], reproducible per seed.
        XLA (``jit_compile``) fuses the small per-step ops, which dominate at batch 1 on CPU, but
        compiling takes seconds per model and primer shape. ``lite`` runs the same loop on LiteRT
        (``lstm_vae_lite``), faster again on CPU; it returns the same frames up to rounding.
        """
        primer = tf.convert_to_tensor(primer, tf.float32)
        steps = primer.shape[1] - 1 + n_frames
        # Drawn outside the compiled loop: XLA's random numbers differ from TensorFlow's kernels.
        width = self.latent_dim + self.feature_dim
        noise = temperature * tf.random.stateless_normal([steps, primer.shape[0], width], seed=[seed, 0], alg="philox")
        if lite:
            from composer.audio.lstm_vae.lite import frame_step, run_frames

            limit = np.broadcast_to(np.asarray(limit, np.float32), [self.feature_dim])
            return tf.constant(run_frames(frame_step(self), primer.numpy(), noise.numpy(), limit))
        loops = self.__dict__.setdefault("_generate_loops", {})
        if jit_compile not in loops:
            loops[jit_compile] = tf.function(self._loop, jit_compile=jit_compile, reduce_retracing=True)
        return loops[jit_compile](primer, noise, tf.convert_to_tensor(limit, tf.float32))

    def _loop(self, primer: tf.Tensor, noise: tf.Tensor, limit: tf.Tensor) -> tf.Tensor:
        """Warm up on primer [batch, n_primer, F], then one frame per noise row [steps, batch, latent + F]."""
        batch, n_primer, total = tf.shape(primer)[0], tf.shape(primer)[1], tf.shape(noise)[0]

        def body(i, frame, states, out):
            given = tf.gather(primer, tf.minimum(i, n_primer - 1), axis=1)
            x = tf.where(i < n_primer, given, frame)
            nxt, states = self.step_frame(x, states, noise[i])
            nxt = tf.clip_by_value(nxt, -limit, limit)
            return i + 1, nxt, states, out.write(i, nxt)

        out = tf.TensorArray(tf.float32, size=total, element_shape=[None, self.feature_dim])
        start = (tf.constant(0), primer[:, 0], self.zero_states(batch), out)
        _, _, _, out = tf.while_loop(lambda i, *_: i < total, body, start)
        return tf.transpose(out.stack()[n_primer - 1:], [1, 0, 2])
