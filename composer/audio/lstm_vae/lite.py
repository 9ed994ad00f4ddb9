"""The LSTM+VAE's frame loop on LiteRT: the frame step exported in float32 (``composer.lite``).

At batch 1 each frame is a chain of matrix-vector products, which LiteRT's XNNPACK kernels run
faster than the XLA loop does (benchmarks/RESULTS.md, "LSTM+VAE generation on LiteRT"). The
weights stay float32 and the noise is the same tensor the TensorFlow loop draws, so the frames
equal that loop's up to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from composer.lite import LiteStep, export, per_model


def export_frame_step(model: Any) -> bytes:
    """``model.step_frame`` as (frame [B, F], noise [B, latent + F], state [B, S]) -> [B, F + S].

    The state packs every recurrent layer's tensors, input side first; the output is the next
    frame (before clipping), then the new state.
    """
    layers = [[int(t.shape[1]) for t in layer] for layer in model.zero_states(1)]
    sizes = [size for layer in layers for size in layer]
    specs = [tf.TensorSpec([None, model.feature_dim], name="frame"),
             tf.TensorSpec([None, model.latent_dim + model.feature_dim], name="noise"),
             tf.TensorSpec([None, sum(sizes)], name="state")]

    @tf.function(input_signature=specs)
    def step(frame, noise, state):
        flat, states = tf.split(state, sizes, axis=1), []
        for layer in layers:
            states.append(flat[:len(layer)])
            flat = flat[len(layer):]
        frame, states = model.step_frame(frame, states, noise)
        return tf.concat([frame, *[tensor for layer in states for tensor in layer]], axis=1)

    return export(step, model, quantize=False)


def frame_step(model: Any) -> LiteStep:
    """The exported step of ``model``, once per model object."""
    return per_model(model, _float32_step)


def _float32_step(model: Any) -> LiteStep:
    return LiteStep(export_frame_step(model))


def run_frames(step: LiteStep, primer: np.ndarray, noise: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """``LstmVae._loop`` in numpy: warm up on primer [B, P, F], then feed back one frame per noise
    row [steps, B, latent + F], clipped to +-``limit``; returns the new frames [B, steps - P + 1, F]."""
    batch, n_primer, dim = primer.shape
    state = np.zeros((batch, step.widths["state"][0]), np.float32)
    frame, frames = primer[:, 0], []
    for i in range(len(noise)):
        out = step(frame=primer[:, i] if i < n_primer else frame, noise=noise[i], state=state)
        frame, state = np.clip(out[:, :dim], -limit, limit), out[:, dim:]
        frames.append(frame)
    return np.stack(frames[n_primer - 1:], axis=1)
