"""Music Transformer as a model family of the shared training harness.

Same events, corpus caches, windows, controls, augmentation, eval windows and sampler as the
Performance RNN (``event_family``); only the network and its config fields differ.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from composer.errors import ConfigError, check_range
from composer.symbolic.event_family import EventConfig, EventFamily, check_meta
from composer.symbolic.music_transformer.model import MusicTransformer

NAME = "music-transformer"


@dataclasses.dataclass(frozen=True)
class MusicTransformerConfig(EventConfig):
    """A Music Transformer preset (configs/music_transformer/*.yaml)."""

    NAME = NAME
    model: str = NAME
    layers: int = 4                     # decoder blocks
    width: int = 256                    # model width D
    heads: int = 4
    ff_dim: int = 1024                  # feed-forward hidden size
    span: int = 1024                    # events each position attends to (learned relative distances)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("layers", "width", "heads", "ff_dim", "span"):
            check_range(name, getattr(self, name), low=1)
        if self.width % self.heads:
            raise ConfigError(f"width {self.width} must be a multiple of heads {self.heads}")


class MusicTransformerFamily(EventFamily):
    """The ModelFamily of composer.train.family for the Music Transformer."""

    name = NAME
    config_class = MusicTransformerConfig
    engines = ("tf",)  # the step's state is the key/value cache: too large to copy through LiteRT per event

    def build_model(self, config: MusicTransformerConfig, meta: dict) -> MusicTransformer:
        """The model with its variables created (one forward pass on a dummy batch)."""
        check_meta(config, meta)
        model = MusicTransformer(meta["num_classes"], layers=config.layers, width=config.width, heads=config.heads,
                                 ff_dim=config.ff_dim, span=config.span, control_dim=meta["control_dim"],
                                 dropout=config.dropout)
        dummy = {"events": tf.zeros([1, 2], tf.int32)}
        if meta["control_dim"]:
            dummy["controls"] = tf.zeros([1, 2, meta["control_dim"]])
        model(dummy)
        return model

    def eval_batch_size(self, config: MusicTransformerConfig, window: int) -> int:
        """As many events per eval batch as per training batch: attention memory grows with the window squared."""
        return max(1, config.train.batch_size * config.example_events // window)


FAMILY = MusicTransformerFamily()
