"""Fast CPU sampling: the Performance RNN's step exported to TensorFlow Lite with int8 weights.

At batch 1 a sampling step is a chain of matrix-vector products that reads every weight once:
21.8 MB of float32 for the default 3 x 512 stack, which holds a float32 loop near 900 events/s
on a 2-core machine however well it is compiled (measured: one 21.8 MB float32 matrix-vector
product takes 1.1 ms here). Dynamic-range quantization stores the weights as int8 (one scale
per output channel) and XNNPACK quantizes each step's activations on the fly, so a step reads
a quarter of the bytes; the LSTM state, gates and softmax stay float32. The event loop around
one interpreter call per step is numpy: a few microseconds next to the call itself.

The int8 model's probabilities differ slightly from the float model's: the held-out score of
both is in benchmarks/RESULTS.md. Beam search and bit-exact float sampling use the TensorFlow
loop in ``sampling.py``.
"""

from __future__ import annotations

import os
import warnings
import weakref
from typing import Any

import numpy as np
import tensorflow as tf

from composer.symbolic.encoding import STEPS_PER_SECOND, PerformanceEncoding

_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def export_step(model: Any, *, quantize: bool = True) -> bytes:
    """The TFLite flatbuffer of ``model.step`` for any batch: (events, [controls,] h0, c0, h1, ...)."""
    sizes = [lstm.units for lstm in model.lstms]
    specs = [tf.TensorSpec([None], tf.int32, name="events")]
    if model.control_dim:
        specs.append(tf.TensorSpec([None, model.control_dim], tf.float32, name="controls"))
    for layer, size in enumerate(sizes):
        specs += [tf.TensorSpec([None, size], tf.float32, name=f"h{layer}"),
                  tf.TensorSpec([None, size], tf.float32, name=f"c{layer}")]

    @tf.function(input_signature=specs)
    def step(*inputs):
        events, rest = inputs[0], list(inputs[1:])
        controls = rest.pop(0) if model.control_dim else None
        logits, states = model.step(events, controls, list(zip(rest[0::2], rest[1::2])))
        return (logits, *[tensor for state in states for tensor in state])

    converter = tf.lite.TFLiteConverter.from_concrete_functions([step.get_concrete_function()], model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


class LiteStep:
    """One sampling step of an exported model: (events [B], controls [B, C] | None, states) -> logits."""

    def __init__(self, flatbuffer: bytes, *, threads: int | None = None) -> None:
        with warnings.catch_warnings():  # tf.lite's interpreter is deprecated for ai_edge_litert's twin
            warnings.simplefilter("ignore")
            self.interpreter = tf.lite.Interpreter(model_content=flatbuffer, num_threads=threads or os.cpu_count())
        inputs = self.interpreter.get_input_details()  # named after the export's TensorSpecs
        self.inputs = {d["name"]: d["index"] for d in inputs}
        self.shapes = {d["name"]: d["shape_signature"] for d in inputs}
        # outputs come in the export's order: logits, h0, c0, h1, ...
        self.logits, *self.state_outputs = [d["index"] for d in self.interpreter.get_output_details()]
        self.layers = sum(name.startswith("h") for name in self.inputs)
        self.control_dim = int(self.shapes["controls"][1]) if "controls" in self.inputs else 0
        self.batch = None

    def initial_state(self, batch: int) -> list[np.ndarray]:
        """Zero [h0, c0, h1, c1, ...], each [batch, H]; sizes the interpreter for ``batch`` rows."""
        if batch != self.batch:
            for name, index in self.inputs.items():
                self.interpreter.resize_tensor_input(index, [batch, *self.shapes[name][1:]])
            self.interpreter.allocate_tensors()
            self.batch = batch
        return [np.zeros((batch, self.shapes[f"{kind}{layer}"][1]), np.float32)
                for layer in range(self.layers) for kind in "hc"]

    def __call__(self, events: np.ndarray, controls: np.ndarray | None, states: list) -> tuple:
        interpreter = self.interpreter
        interpreter.set_tensor(self.inputs["events"], events)
        if self.control_dim:  # an input left unset would keep the previous call's values
            interpreter.set_tensor(self.inputs["controls"], controls)
        names = [f"{kind}{layer}" for layer in range(self.layers) for kind in "hc"]
        for name, state in zip(names, states):
            interpreter.set_tensor(self.inputs[name], state)
        interpreter.invoke()
        return interpreter.get_tensor(self.logits), [interpreter.get_tensor(index) for index in self.state_outputs]


def lite_step(model: Any) -> LiteStep:
    """The int8 step of ``model``, exported once per model object (its weights are fixed after loading)."""
    if model not in _STEPS:
        _STEPS[model] = LiteStep(export_step(model))
    return _STEPS[model]


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


def sample_events_lite(step: LiteStep, encoding: PerformanceEncoding, *, num: int, seconds: float,
                       temperature: float, seed: int, primer: np.ndarray, controls: np.ndarray | None,
                       top_p: float | None, max_events: float) -> list[np.ndarray]:
    """``num`` event arrays (primer first) running ``seconds`` past the primer, sampled through ``step``.

    The loop mirrors ``sampling.sample_events``: primer events are fed, not drawn; a row stops
    once time has moved ``seconds`` past its primer, or after ``max_events`` steps; controls
    [K, C] are spread over that time.
    """
    rng = np.random.default_rng(seed)
    controls = np.zeros((1, step.control_dim), np.float32) if controls is None else controls
    total = int(round(seconds * STEPS_PER_SECOND))
    states = step.initial_state(num)
    event, time = np.full(num, primer[0], np.int32), np.zeros(num, np.int64)
    done = np.zeros(num, bool)
    tokens = []
    i = 0
    while i + 1 < len(primer) or not done.all() and i < max_events:
        segment = np.minimum(time * len(controls) // max(total, 1), len(controls) - 1)
        logits, states = step(event, controls[segment], states)
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
    columns = np.stack(tokens, axis=1) if tokens else np.zeros((num, 0), np.int32)
    return [np.concatenate([primer[:1], row[row >= 0]]).astype(np.int32) for row in columns]


def nll_per_event(step: LiteStep, events: np.ndarray, controls: np.ndarray | None = None) -> float:
    """Mean negative log-likelihood (nats) of events [B, T] after their first, teacher-forced.

    Scores the exported model on the data it would sample, so its int8 weights can be checked
    against the float model's own evaluation (controls: [B, T, C]; absent: zeros).
    """
    states = step.initial_state(len(events))
    if controls is None:
        controls = np.zeros((*events.shape, step.control_dim), np.float32)
    total = 0.0
    for t in range(events.shape[1] - 1):
        logits, states = step(events[:, t].astype(np.int32), controls[:, t], states)
        z = logits.astype(np.float64)
        log_norm = z.max(axis=1) + np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))
        total += float((log_norm - z[np.arange(len(z)), events[:, t + 1]]).sum())
    return total / (events.shape[0] * (events.shape[1] - 1))
