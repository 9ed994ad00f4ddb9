"""Inverse-CDF draws from logits: one numpy version for the event sampler, one TensorFlow version
for loops compiled whole (SampleRNN), with the same math.

A class is drawn with ONE uniform u in [0, 1): it is the number of classes whose cumulative mass
is <= u times the total, so a class of mass 0 (outside the nucleus) is never drawn, unlike a
Gumbel-max draw, which needs a random number and a logarithm per class. Temperature divides the
logits (temperature 0: the likeliest class); top-p keeps the smallest set of classes whose mass
reaches ``top_p`` (those as likely as the least likely of that set included).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

TEMPERATURE_FLOOR = 1e-6  # temperatures below this divide by it (0 itself is the argmax)


def class_mass(logits: np.ndarray, *, temperature: float, top_p: float | None = None) -> np.ndarray:
    """Unnormalised probabilities [R, V] (the likeliest class 1) of logits [R, V] at ``temperature``,
    zero outside the top-p nucleus."""
    z = logits / np.float32(max(temperature, TEMPERATURE_FLOOR))
    mass = np.exp(z - z.max(axis=1, keepdims=True))
    if top_p is not None and top_p < 1:
        ranked = -np.sort(-mass, axis=1)
        before = np.cumsum(ranked, axis=1) - ranked
        kept = before < top_p * mass.sum(axis=1, keepdims=True)
        mass = np.where(mass < np.where(kept, ranked, np.inf).min(axis=1, keepdims=True), 0.0, mass)
    return mass


def inverse_cdf(mass: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Classes int32 [R, D] drawn from unnormalised probabilities [R, V] by uniforms [R, D] in [0, 1)."""
    cdf = np.cumsum(mass, axis=1)
    target = uniform * cdf[:, -1:]
    count = (cdf[:, None, :] <= target[:, :, None]).sum(axis=2)
    return np.minimum(count, mass.shape[1] - 1).astype(np.int32)


def draw_classes(logits: np.ndarray, uniform: np.ndarray, *, temperature: float,
                 top_p: float | None = None) -> np.ndarray:
    """One class per row of logits [R, V] with uniforms [R] in [0, 1): int32 [R]."""
    if temperature == 0:
        return logits.argmax(axis=1).astype(np.int32)
    return inverse_cdf(class_mass(logits, temperature=temperature, top_p=top_p), uniform[:, None])[:, 0]


def class_mass_tf(logits: tf.Tensor, *, temperature: tf.Tensor | float, top_p: tf.Tensor | float | None = None
                  ) -> tf.Tensor:
    """``class_mass`` in TensorFlow: logits [B, V] -> unnormalised probabilities [B, V]."""
    z = logits / tf.maximum(tf.cast(temperature, logits.dtype), TEMPERATURE_FLOOR)
    mass = tf.exp(z - tf.reduce_max(z, axis=-1, keepdims=True))
    if top_p is not None:
        ranked = tf.sort(mass, direction="DESCENDING")
        before = tf.cumsum(ranked, axis=-1, exclusive=True)
        kept = before < tf.cast(top_p, mass.dtype) * tf.reduce_sum(mass, axis=-1, keepdims=True)
        cutoff = tf.reduce_min(tf.where(kept, ranked, np.inf), axis=-1, keepdims=True)
        mass = tf.where(mass < cutoff, tf.zeros_like(mass), mass)
    return mass


def inverse_cdf_tf(mass: tf.Tensor, uniform: tf.Tensor) -> tf.Tensor:
    """``inverse_cdf`` in TensorFlow, one uniform per row: mass [B, V], uniforms [B] -> int32 [B].

    The CDF is searched in two levels, the block of ~sqrt(V) classes holding the uniform's share
    of the mass, then the class within it: O(V) work, where one cumulative sum over all V classes
    runs on XLA's CPU backend as an O(V^2) window sum.
    """
    n = mass.shape[-1]
    block = math.isqrt(n - 1) + 1
    blocks = tf.reshape(tf.pad(mass, [[0, 0], [0, block * block - n]]), (-1, block, block))
    block_cdf = tf.cumsum(tf.reduce_sum(blocks, axis=-1), axis=-1)  # [B, block]
    target = tf.cast(uniform, mass.dtype) * block_cdf[:, -1]
    chosen = tf.minimum(tf.reduce_sum(tf.cast(block_cdf <= target[:, None], tf.int32), axis=-1), block - 1)
    before = tf.gather(tf.pad(block_cdf, [[0, 0], [1, 0]]), chosen, batch_dims=1)
    inner_cdf = tf.cumsum(tf.gather(blocks, chosen, batch_dims=1), axis=-1)  # [B, block]
    inner = tf.reduce_sum(tf.cast(inner_cdf <= (target - before)[:, None], tf.int32), axis=-1)
    return tf.minimum(chosen * block + tf.minimum(inner, block - 1), n - 1)


def draw_classes_tf(logits: tf.Tensor, uniform: tf.Tensor, *, temperature: tf.Tensor | float,
                    top_p: tf.Tensor | float | None = None) -> tf.Tensor:
    """``draw_classes`` in TensorFlow, for compiled loops: logits [B, V], uniforms [B] -> int32 [B]."""
    drawn = inverse_cdf_tf(class_mass_tf(logits, temperature=temperature, top_p=top_p), uniform)
    return tf.where(tf.cast(temperature, logits.dtype) > 0, drawn, tf.argmax(logits, axis=-1, output_type=tf.int32))
