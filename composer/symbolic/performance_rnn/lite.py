"""The Performance RNN's step exported with int8 weights (``composer.lite``): the "tflite" engine.

At small batches a sampling step reads every weight once, so its speed is set by bytes moved,
and a float32 step pays for four bytes per weight however well it is compiled; with int8
weights a step reads a quarter of that. The sampling loop around it is ``sampler.py``'s, the
same as for the float32 engine. The int8 model's probabilities differ slightly from the float
model's: ``nll_per_event`` scores both (their held-out scores are in benchmarks/RESULTS.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special
import tensorflow as tf

from composer.lite import LiteStep, export, per_model


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
    """The exported step as a sampling engine (``engines.Engine``); the state is (h, c) of every
    layer packed into one float32 array [B, S]."""

    def __init__(self, flatbuffer: bytes, *, threads: int | None = None) -> None:
        self.lite = LiteStep(flatbuffer, threads=threads)
        self.state_width = self.lite.widths["state"][0]
        self.control_dim = self.lite.widths.get("controls", (0,))[0]

    def initial_state(self, batch: int) -> np.ndarray:
        return np.zeros((batch, self.state_width), np.float32)

    def step(self, events: np.ndarray, controls: np.ndarray | None, state: np.ndarray) -> tuple:
        inputs = {"events": events, "state": state}
        if self.control_dim:
            inputs["controls"] = controls
        out = self.lite(**inputs)
        return out[:, :-self.state_width], out[:, -self.state_width:]

    def reorder(self, state: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return state[rows]


def lite_step(model: Any) -> PerformanceStep:
    """The int8 step of ``model``, exported once per model object."""
    return per_model(model, _int8_step)


def _int8_step(model: Any) -> PerformanceStep:
    return PerformanceStep(export_step(model))


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
        logits, state = step.step(events[:, t].astype(np.int32), controls[:, t], state)
        z = logits.astype(np.float64)
        total += float((scipy.special.logsumexp(z, axis=1) - z[np.arange(len(z)), events[:, t + 1]]).sum())
    return total / (events.shape[0] * (events.shape[1] - 1))
