"""Performance RNN as a model family of the shared training harness.

The config is the only place presets are read; ``build_model`` turns it into constructor
arguments. Everything but the network is shared with the other event models (``event_family``).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from composer.errors import ConfigError, check_range
from composer.symbolic.event_family import EventConfig, EventFamily, check_meta
from composer.symbolic.performance_rnn.model import PerformanceRNN

__all__ = ["FAMILY", "PerformanceRNNConfig", "check_meta"]

NAME = "performance-rnn"


@dataclasses.dataclass(frozen=True)
class PerformanceRNNConfig(EventConfig):
    """A Performance RNN preset (configs/performance_rnn/*.yaml)."""

    NAME = NAME
    model: str = NAME
    layers: tuple[int, ...] = (512, 512, 512)
    embedding_dim: int = 0              # 0: one-hot inputs, as Magenta

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.layers or min(self.layers) <= 0:
            raise ConfigError(f"layers must be positive LSTM sizes, got {list(self.layers)}")
        check_range("embedding_dim", self.embedding_dim, low=0)


class PerformanceRNNFamily(EventFamily):
    """The ModelFamily of composer.train.family for Performance RNN."""

    name = NAME
    config_class = PerformanceRNNConfig
    engines = ("tflite", "tf")  # int8 LiteRT step (lite.py) first: a quarter of the bytes per step

    def build_model(self, config: PerformanceRNNConfig, meta: dict) -> PerformanceRNN:
        """The model with its variables created (one forward pass on a dummy batch)."""
        check_meta(config, meta)
        model = PerformanceRNN(meta["num_classes"], layer_sizes=config.layers, control_dim=meta["control_dim"],
                               embedding_dim=config.embedding_dim, dropout=config.dropout)
        dummy = {"events": tf.zeros([1, 2], tf.int32)}
        if meta["control_dim"]:
            dummy["controls"] = tf.zeros([1, 2, meta["control_dim"]])
        model(dummy)
        return model


FAMILY = PerformanceRNNFamily()
