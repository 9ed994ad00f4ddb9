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
loop in ``sampling.py``. The interpreter is LiteRT's (package ai-edge-litert), which replaces
tf.lite's deprecated one; the converter is TensorFlow's.
"""

from __future__ import annotations

import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import tensorflow as tf

from composer.quiet import muted_stderr
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


class _Rows:
    """One interpreter stepping a fixed number of rows (its own copy of the packed weights)."""

    def __init__(self, flatbuffer: bytes, *, rows: int, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter  # tf.lite's interpreter is deprecated for this one

        with muted_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            self.interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
        inputs = self.interpreter.get_input_details()  # named after the export's TensorSpecs
        self.inputs = {d["name"]: d["index"] for d in inputs}
        self.widths = {d["name"]: list(d["shape_signature"][1:]) for d in inputs}
        # outputs come in the export's order: logits, h0, c0, h1, ...
        self.logits, *self.state_outputs = [d["index"] for d in self.interpreter.get_output_details()]
        self.state_inputs = [self.inputs[f"{kind}{layer}"] for layer in range(len(self.state_outputs) // 2)
                             for kind in "hc"]
        self.controls = self.inputs.get("controls")
        for name, index in self.inputs.items():
            self.interpreter.resize_tensor_input(index, [rows, *self.widths[name]])
        self.interpreter.allocate_tensors()
        self.rows = rows

    def initial_state(self) -> list[np.ndarray]:
        return [np.zeros((self.rows, *self.widths[f"{kind}{layer}"]), np.float32)
                for layer in range(len(self.state_inputs) // 2) for kind in "hc"]

    def __call__(self, events: np.ndarray, controls: np.ndarray, states: list) -> tuple:
        interpreter = self.interpreter
        interpreter.set_tensor(self.inputs["events"], events)
        if self.controls is not None:  # an input left unset would keep the previous call's values
            interpreter.set_tensor(self.controls, controls)
        for index, state in zip(self.state_inputs, states):
            interpreter.set_tensor(index, state)
        interpreter.invoke()
        return interpreter.get_tensor(self.logits), [interpreter.get_tensor(index) for index in self.state_outputs]


class LiteStep:
    """One sampling step of an exported model: (events [B], controls [B, C], states) -> logits [B, V].

    A batch is split into one row group per core, each stepped by its own single-threaded
    interpreter in parallel (the interpreter releases the GIL): at batch 16 that beats one
    interpreter splitting every matmul across threads. A single row uses all cores in one
    interpreter. ``states`` is opaque: whatever ``initial_state`` and the last call returned.
    """

    def __init__(self, flatbuffer: bytes, *, cores: int | None = None) -> None:
        self.flatbuffer, self.cores = flatbuffer, cores or os.cpu_count() or 1
        self.groups, self.bounds = [_Rows(flatbuffer, rows=1, threads=self.cores)], [0, 1]
        self.pool: ThreadPoolExecutor | None = None
        self.control_dim = int(self.groups[0].widths.get("controls", [0])[0])

    def initial_state(self, batch: int) -> list:
        """Zero states for ``batch`` rows (sizes the interpreters for that batch)."""
        groups = min(self.cores, batch)
        sizes = [len(rows) for rows in np.array_split(np.arange(batch), groups)]
        if [group.rows for group in self.groups] != sizes:
            self.groups = [_Rows(self.flatbuffer, rows=size, threads=self.cores // groups) for size in sizes]
            self.bounds = np.cumsum([0, *sizes])
            if groups > 1 and self.pool is None:
                self.pool = ThreadPoolExecutor(self.cores - 1, thread_name_prefix="lite-step")
        return [group.initial_state() for group in self.groups]

    def __call__(self, events: np.ndarray, controls: np.ndarray, states: list) -> tuple:
        parts = [(group, events[lo:hi], controls[lo:hi], state)
                 for group, lo, hi, state in zip(self.groups, self.bounds[:-1], self.bounds[1:], states)]
        later = [self.pool.submit(*part) for part in parts[1:]]
        results = [parts[0][0](*parts[0][1:])] + [future.result() for future in later]
        if len(results) == 1:
            return results[0][0], [results[0][1]]
        return np.concatenate([logits for logits, _ in results]), [state for _, state in results]


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
