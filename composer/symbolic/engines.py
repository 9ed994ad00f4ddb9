"""Step engines: what runs one step of an event model for the sampling loop (``sampler.py``).

A step engine has ``control_dim``, ``initial_state(batch)``, ``step(events [B] int32, controls
[B, C] float32 or None, state) -> (logits float32 [B, V], state)`` and ``reorder(state, rows)``,
which makes row r continue from the state of row ``rows[r]`` (beam search). Two engines:
  - "tflite": the Performance RNN's step exported with int8 weights (``lite.PerformanceStep``),
    its state a numpy array; a quarter of the bytes per step of the float32 weights.
  - "tf": the model's own float32 step (``TFEngine``), which the sampler compiles into its loop.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

import numpy as np

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
    """The model's own float32 step, which the sampler traces into a compiled loop of many events
    (``sampler._chunk_loop``, cached here per options): not an event-by-event engine."""

    def __init__(self, model: Any) -> None:
        self.model = weakref.proxy(model)  # the engine is cached per model: no reference back to it
        self.control_dim = model.control_dim
        self.loops: dict = {}

    def initial_state(self, batch: int) -> Any:
        return self.model.initial_state(batch)


def engine_for(model: Any, engine: str | Engine) -> Engine | TFEngine:
    """The engine named ``engine`` ("tf", "tflite") of ``model``, built once per model object; an
    engine object is used as it is (e.g. a float32 export, to compare the engines)."""
    if not isinstance(engine, str):
        return engine
    if engine not in ENGINES:
        raise ConfigError(f"unknown sampling engine '{engine}' (choose from {', '.join(ENGINES)})")
    return lite_step(model) if engine == "tflite" else per_model(model, TFEngine)
