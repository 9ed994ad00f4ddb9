"""Step engines: what runs one step of an event model for the sampling loop (``sampler.py``).

An engine has ``control_dim``, ``initial_state(batch)``, ``step(events [B] int32, controls
[B, C] float32 or None, state) -> (logits float32 [B, V], state)`` and ``reorder(state, rows)``,
which makes row r continue from the state of row ``rows[r]`` (beam search). Two engines:
  - "tflite": the Performance RNN's step exported with int8 weights (``lite.PerformanceStep``),
    its state a numpy array; a quarter of the bytes per step of the float32 weights.
  - "tf": the model's own float32 step, compiled with XLA (``TFEngine``).
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

import numpy as np
import tensorflow as tf

from composer.errors import ConfigError
from composer.lite import per_model
from composer.symbolic.lite import lite_step

ENGINES = ("tf", "tflite")


class Engine(Protocol):
    control_dim: int

    def initial_state(self, batch: int) -> Any: ...

    def step(self, events: np.ndarray, controls: np.ndarray | None, state: Any) -> tuple[np.ndarray, Any]: ...

    def reorder(self, state: Any, rows: np.ndarray) -> Any: ...


class TFEngine:
    """The model's float32 step as one XLA call per event, its state held in variables.

    A compiled call copies the tensors it is given and returns, and the Music Transformer's state
    is its key/value cache: passed in and out, the whole cache would be copied every event.
    Variables are read and written in place by the compiled step, so ``step`` and ``reorder``
    update the state they are given and hand the same variables back. Hence one sampling run per
    model at a time (as the int8 engine's interpreter): ``initial_state`` resets the variables.
    """

    def __init__(self, model: Any) -> None:
        self.model = weakref.proxy(model)  # the engine is cached per model: no reference back to it
        self.control_dim = model.control_dim
        self.variables = tf.nest.map_structure(
            lambda t: tf.Variable(t, shape=[None, *t.shape[1:]], trainable=False), model.initial_state(1))
        specs = [tf.TensorSpec([None], tf.int32)] + ([tf.TensorSpec([None, self.control_dim])]
                                                     if self.control_dim else [])
        # Concrete functions, called with tensors: a tf.function's own dispatch (matching the
        # arguments to a trace) costs more than the Performance RNN's whole step at batch 1.
        self._advance = tf.function(self._advance_graph, input_signature=specs, jit_compile=True
                                    ).get_concrete_function()
        self._gather = tf.function(self._gather_graph, input_signature=[tf.TensorSpec([None], tf.int32)],
                                   jit_compile=True).get_concrete_function()

    def _advance_graph(self, events: tf.Tensor, controls: tf.Tensor | None = None) -> tf.Tensor:
        state = tf.nest.map_structure(lambda v: v.read_value(), self.variables)
        logits, state = self.model.step(events, controls, state)
        tf.nest.map_structure(lambda v, t: v.assign(t), self.variables, state)
        return logits

    def _gather_graph(self, rows: tf.Tensor) -> None:
        tf.nest.map_structure(lambda v: v.assign(tf.gather(v, rows)), self.variables)

    def initial_state(self, batch: int) -> Any:
        tf.nest.map_structure(lambda v, t: v.assign(t), self.variables, self.model.initial_state(batch))
        return self.variables

    def step(self, events: np.ndarray, controls: np.ndarray | None, state: Any) -> tuple[np.ndarray, Any]:
        inputs = (events, controls) if self.control_dim else (events,)
        return self._advance(*map(tf.constant, inputs)).numpy(), state

    def reorder(self, state: Any, rows: np.ndarray) -> Any:
        self._gather(tf.constant(rows, tf.int32))
        return state


def engine_for(model: Any, engine: str | Engine) -> Engine:
    """The engine named ``engine`` ("tf", "tflite") of ``model``, built once per model object; an
    engine object is used as it is (e.g. a float32 export, to compare the engines)."""
    if not isinstance(engine, str):
        return engine
    if engine not in ENGINES:
        raise ConfigError(f"unknown sampling engine '{engine}' (choose from {', '.join(ENGINES)})")
    return lite_step(model) if engine == "tflite" else per_model(model, TFEngine)
