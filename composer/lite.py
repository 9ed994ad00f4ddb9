"""One step of a recurrent model, exported to TensorFlow Lite and run by LiteRT on the CPU.

Sampling a recurrent model at small batches is a chain of matrix-vector products that reads
every weight once per step, so on a CPU its speed is set by bytes moved, not arithmetic, and a
compiled TensorFlow loop pays for its float32 weights and its per-op dispatch. Exported with
dynamic-range quantization the weights are int8 (one scale per output channel) and XNNPACK
quantizes each step's activations on the fly: a quarter of the bytes per step, while states,
gates and outputs stay float32. The model families keep their sampling loops in numpy around
one call per step.

An exported step takes named inputs with a leading batch dimension and returns ONE tensor
[batch, width] (callers concatenate their outputs into it): a converted model's output names and
order are not stable across graphs, its input names are. The interpreter is LiteRT's (package
ai-edge-litert), which replaces tf.lite's deprecated one; the converter is TensorFlow's.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import tensorflow as tf

from composer.quiet import muted_stderr


def export(step: Any, trackable: Any, *, quantize: bool = True) -> bytes:
    """The flatbuffer of ``step``, a tf.function with an input_signature of named [None, ...] specs."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions([step.get_concrete_function()], trackable)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


class _Rows:
    """One interpreter stepping a fixed number of rows (its own copy of the packed weights)."""

    def __init__(self, flatbuffer: bytes, *, rows: int, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with muted_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            self.interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
        details = self.interpreter.get_input_details()
        names = [d["name"].removeprefix("serving_default_").split(":")[0] for d in details]
        self.inputs = {name: d["index"] for name, d in zip(names, details)}
        self.widths = {name: tuple(int(w) for w in d["shape_signature"][1:]) for name, d in zip(names, details)}
        (output,) = self.interpreter.get_output_details()
        self.output = output["index"]
        for name, index in self.inputs.items():
            self.interpreter.resize_tensor_input(index, [rows, *self.widths[name]])
        self.interpreter.allocate_tensors()
        self.rows = rows

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        for name, index in self.inputs.items():  # every input, each call: an unset one keeps old values
            self.interpreter.set_tensor(index, inputs[name])
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)


class LiteStep:
    """An exported step for any batch: ``step(**inputs)`` -> [batch, width].

    A batch is split into one row group per core, each stepped by its own single-threaded
    interpreter in parallel (the interpreter releases the GIL): at batch 16 that beats one
    interpreter splitting every matmul across threads. A single row uses all cores in one
    interpreter.
    """

    def __init__(self, flatbuffer: bytes, *, cores: int | None = None) -> None:
        self.flatbuffer, self.cores = flatbuffer, cores or os.cpu_count() or 1
        self.groups, self.bounds = [_Rows(flatbuffer, rows=1, threads=self.cores)], [0, 1]
        self.pool: ThreadPoolExecutor | None = None
        self.widths = self.groups[0].widths  # per input name, without the batch dimension

    def _size(self, batch: int) -> None:
        groups = min(self.cores, batch)
        sizes = [len(rows) for rows in np.array_split(np.arange(batch), groups)]
        if [group.rows for group in self.groups] != sizes:
            self.groups = [_Rows(self.flatbuffer, rows=size, threads=self.cores // groups) for size in sizes]
            self.bounds = np.cumsum([0, *sizes])
            if groups > 1 and self.pool is None:
                self.pool = ThreadPoolExecutor(self.cores - 1, thread_name_prefix="lite-step")

    def __call__(self, **inputs: np.ndarray) -> np.ndarray:
        self._size(len(next(iter(inputs.values()))))
        parts = [{name: value[lo:hi] for name, value in inputs.items()}
                 for lo, hi in zip(self.bounds[:-1], self.bounds[1:])]
        later = [self.pool.submit(group, part) for group, part in zip(self.groups[1:], parts[1:])]
        first = self.groups[0](parts[0])
        return first if not later else np.concatenate([first, *(future.result() for future in later)])
