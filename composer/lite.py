"""One step of a recurrent model, exported to TensorFlow Lite and run by LiteRT on the CPU.

Sampling a recurrent model at small batches is a chain of matrix-vector products that reads
every weight once per step, so on a CPU its speed is set by bytes moved, not arithmetic, and a
compiled TensorFlow loop pays for its float32 weights and its per-op dispatch. Exported with
dynamic-range quantization the weights are int8 (one scale per output channel) and XNNPACK
quantizes each step's activations on the fly: a quarter of the bytes per step, while states,
gates and outputs stay float32. The caller keeps its sampling loop in numpy around one call
per step (composer.symbolic.sampler for the event models).

An exported step takes named inputs with a leading batch dimension and returns ONE tensor
[batch, width] (callers concatenate their outputs into it): a converted model's output names and
order are not stable across graphs, its input names are. The interpreter is LiteRT's (package
ai-edge-litert), which replaces tf.lite's deprecated one; the converter is TensorFlow's.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import tensorflow as tf

from composer.quiet import muted_stderr

T = TypeVar("T")
_BUILT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def export(step: Any, trackable: Any, *, quantize: bool = True) -> bytes:
    """The flatbuffer of ``step``, a tf.function with an input_signature of named [None, ...] specs.

    The variables are frozen into constants first: Keras layers' reads otherwise stay resource
    variable reads in the converted graph, whose matmuls XNNPACK neither packs nor quantizes.
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(step.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], trackable)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


class LiteStep:
    """An exported step for any batch: ``step(**inputs)`` -> [batch, width].

    One interpreter on all cores: at batch 16 it beat one single-threaded interpreter per core,
    each stepping its share of the rows (benchmarks/RESULTS.md). The interpreter is resized when
    the batch changes.
    """

    def __init__(self, flatbuffer: bytes, *, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with muted_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            self.interpreter = Interpreter(model_content=flatbuffer, num_threads=threads or os.cpu_count())
        details = self.interpreter.get_input_details()
        names = [d["name"].removeprefix("serving_default_").split(":")[0] for d in details]
        self.inputs = {name: d["index"] for name, d in zip(names, details)}
        self.widths = {name: tuple(int(w) for w in d["shape_signature"][1:]) for name, d in zip(names, details)}
        (output,) = self.interpreter.get_output_details()
        self.output, self.batch = output["index"], None

    def __call__(self, **inputs: np.ndarray) -> np.ndarray:
        batch = len(next(iter(inputs.values())))
        if batch != self.batch:
            for name, index in self.inputs.items():
                self.interpreter.resize_tensor_input(index, [batch, *self.widths[name]])
            with muted_stderr():  # XNNPACK announces itself when it takes the resized graph
                self.interpreter.allocate_tensors()
            self.batch = batch
        for name, index in self.inputs.items():  # every input, each call: an unset one keeps old values
            self.interpreter.set_tensor(index, np.ascontiguousarray(inputs[name]))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)


def per_model(model: Any, build: Callable[[Any], T]) -> T:
    """``build(model)`` once per model object and builder: a loaded model's weights are fixed,
    and exporting one takes seconds."""
    built = _BUILT.setdefault(model, {})
    if build not in built:
        built[build] = build(model)
    return built[build]
