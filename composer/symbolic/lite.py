"""Fast CPU sampling: the Performance RNN's step exported with int8 weights (``composer.lite``).

At batch 1 a sampling step reads every weight once: 21.8 MB of float32 for the default 3 x 512
stack, which holds a float32 loop near 900 events/s on a 2-core machine however well it is
compiled (measured: one 21.8 MB float32 matrix-vector product takes 1.1 ms here). With int8
weights a step reads a quarter of that. The event loop around one call per step is numpy and
mirrors the TensorFlow loop of ``sampling.py``, which stays the engine for beam search and
bit-exact float sampling. The int8 model's probabilities differ slightly from the float
model's: the held-out score of both is in benchmarks/RESULTS.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special
import tensorflow as tf

from composer.lite import LiteStep, export, per_model
from composer.symbolic.encoding import STEPS_PER_SECOND, PerformanceEncoding

PROGRESS_EVERY = 256  # steps between progress reports


def export_step(model: Any, *, quantize: bool = True) -> bytes:
    """``model.step`` as (events [B], state [B, S], controls [B, C] if conditioned) -> [B, V + S].

    The state packs (h, c) of every layer, bottom first; the output is the logits, then the new state.
    """
    sizes = [lstm.units for lstm in model.lstms]
    specs = [tf.TensorSpec([None], tf.int32, name="events"), tf.TensorSpec([None, 2 * sum(sizes)], name="state")]
    if model.control_dim:
        specs.append(tf.TensorSpec([None, model.control_dim], tf.float32, name="controls"))

    @tf.function(input_signature=specs)
    def step(events, state, *controls):
        parts = tf.split(state, [size for size in sizes for _ in "hc"], axis=1)
        logits, states = model.step(events, controls[0] if controls else None, list(zip(parts[0::2], parts[1::2])))
        return tf.concat([logits, *[tensor for pair in states for tensor in pair]], axis=1)

    return export(step, model, quantize=quantize)


class PerformanceStep:
    """The exported step as the sampling loop calls it: (events, controls, state) -> (logits, state)."""

    def __init__(self, flatbuffer: bytes, *, threads: int | None = None) -> None:
        self.step = LiteStep(flatbuffer, threads=threads)
        self.state_width = self.step.widths["state"][0]
        self.control_dim = self.step.widths.get("controls", (0,))[0]

    def initial_state(self, batch: int) -> np.ndarray:
        return np.zeros((batch, self.state_width), np.float32)

    def __call__(self, events: np.ndarray, controls: np.ndarray, state: np.ndarray) -> tuple:
        inputs = {"events": events, "state": state}
        if self.control_dim:
            inputs["controls"] = controls
        out = self.step(**inputs)
        return out[:, :-self.state_width], out[:, -self.state_width:]


def lite_step(model: Any) -> PerformanceStep:
    """The int8 step of ``model``, exported once per model object."""
    return per_model(model, _int8_step)


def _int8_step(model: Any) -> PerformanceStep:
    return PerformanceStep(export_step(model))


def draw(logits: np.ndarray, uniform: np.ndarray, *, temperature: float, top_p: float | None) -> np.ndarray:
    """Classes [B] drawn from logits [B, V] by inverse CDF with uniforms [B] in (0, 1].

    As the TensorFlow loop: temperature 0 is (nearly) greedy; with top-p, classes less likely
    than the smallest of the set reaching that mass get probability 0, and since u > 0 a class
    of probability 0 is never drawn. All rows are searched at once: row r's normalised CDF is
    shifted into (r, r + 1].
    """
    z = logits / np.float32(max(temperature, 1e-4))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    if top_p is not None and top_p < 1:
        ranked = -np.sort(-p, axis=1)
        before = np.cumsum(ranked, axis=1) - ranked
        kept = before < top_p * p.sum(axis=1, keepdims=True)
        p = np.where(p < np.where(kept, ranked, np.inf).min(axis=1, keepdims=True), 0.0, p)
    cdf = np.cumsum(p, axis=1)
    rows = np.arange(len(p))
    shifted = (cdf / cdf[:, -1:]).astype(np.float64) + rows[:, None]
    return (np.searchsorted(shifted.ravel(), uniform + rows) - rows * p.shape[1]).astype(np.int32)


def sample_events_lite(step: PerformanceStep, encoding: PerformanceEncoding, *, num: int, seconds: float,
                       temperature: float, seed: int, primer: np.ndarray, controls: np.ndarray | None,
                       top_p: float | None, max_events: float,
                       progress: Callable[[float], None] | None = None) -> list[np.ndarray]:
    """``num`` event arrays (primer first) running ``seconds`` past the primer, sampled through ``step``.

    The loop mirrors ``sampling.sample_events``: primer events are fed, not drawn; a row stops
    once time has moved ``seconds`` past its primer, or after ``max_events`` steps; controls
    [K, C] are spread over that time. ``progress`` gets the seconds every row has reached, now and then.
    """
    rng = np.random.default_rng(seed)
    controls = np.zeros((1, step.control_dim), np.float32) if controls is None else controls
    total = int(round(seconds * STEPS_PER_SECOND))
    state = step.initial_state(num)
    event, time = np.full(num, primer[0], np.int32), np.zeros(num, np.int64)
    done = np.zeros(num, bool)
    tokens = []
    i = 0
    while i + 1 < len(primer) or not done.all() and i < max_events:
        segment = np.minimum(time * len(controls) // max(total, 1), len(controls) - 1)
        logits, state = step(event, controls[segment], state)
        if i + 1 < len(primer):
            token = np.full(num, primer[i + 1], np.int32)
        else:
            token = draw(logits, 1.0 - rng.random(num), temperature=temperature, top_p=top_p)
            shift = (token >= encoding.shift_offset) & (token < encoding.velocity_offset)
            time += np.where(shift & ~done, token - encoding.shift_offset + 1, 0)
            token = np.where(done, -1, token)
            done |= time >= total
        tokens.append(token)
        event = np.maximum(token, 0).astype(np.int32)
        i += 1
        if progress and i % PROGRESS_EVERY == 0:
            progress(float(time.min()) / STEPS_PER_SECOND)
    columns = np.stack(tokens, axis=1) if tokens else np.zeros((num, 0), np.int32)
    return [np.concatenate([primer[:1], row[row >= 0]]).astype(np.int32) for row in columns]


def nll_per_event(step: PerformanceStep, events: np.ndarray, controls: np.ndarray | None = None) -> float:
    """Mean negative log-likelihood (nats) of events [B, T] after their first, teacher-forced.

    Scores the exported model on the data it would sample, so its int8 weights can be checked
    against the float model's own evaluation (controls: [B, T, C]; absent: zeros).
    """
    state = step.initial_state(len(events))
    if controls is None:
        controls = np.zeros((*events.shape, step.control_dim), np.float32)
    total = 0.0
    for t in range(events.shape[1] - 1):
        logits, state = step(events[:, t].astype(np.int32), controls[:, t], state)
        z = logits.astype(np.float64)
        total += float((scipy.special.logsumexp(z, axis=1) - z[np.arange(len(z)), events[:, t + 1]]).sum())
    return total / (events.shape[0] * (events.shape[1] - 1))
