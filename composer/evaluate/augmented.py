"""The feature-overlap ceiling of the *augmented* train split: what a perfect model of what it is shown reaches.

``composer evaluate``'s feature-overlap ratio puts generated MIDI against the train split's own
overlap with the eval split. A model trained with transposition and time stretch learns the
augmented split, whose keys and tempos the corpus does not all use; its best possible overlap is
that of the augmented train split itself, built here with the training code's own stretch factors
and a transposition drawn per chunk inside the same range.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from composer.measures import features
from composer.symbolic.augment import transpose_window, transposition_range
from composer.symbolic.dataset import stretched


def transposed(events: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    """``events`` [n] shifted by a draw in +-``most`` semitones that keeps every pitch in 0..127, by the
    training pipeline's own ``transposition_range`` and ``transpose_window``."""
    events, weights = tf.constant(events, tf.int32), tf.ones(len(events))
    low, high = (int(bound) for bound in transposition_range(events, weights, most))
    return transpose_window(events, weights, tf.constant(int(rng.integers(low, high + 1)))).numpy()


def augmented_chunks(train: Sequence[np.ndarray], config: Any, *, seed: int = 0) -> list[np.ndarray]:
    """The train chunks as an event model's config augments them: every stretch variant, each transposed once."""
    rng = np.random.default_rng(seed)
    variants = stretched(list(train), config.encoding, low=config.stretch[0], high=config.stretch[1],
                         count=config.stretch_variants)
    return [transposed(chunk, config.transpose, rng) for chunk in variants if len(chunk)]


def augmented_features(train: Sequence[np.ndarray], config: Any, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Pooled features (``features.set_features``) of the augmented train split."""
    return features.set_features(config.encoding.decode(chunk) for chunk in augmented_chunks(train, config, seed=seed))


def augmented_ceiling(generated: dict[str, np.ndarray], eval_: dict[str, np.ndarray],
                      augmented: dict[str, np.ndarray]) -> dict[str, Any]:
    """The metrics.json keys of the augmented ceiling: per-feature overlap of the augmented train split
    with the eval split, and the generated set's mean overlap over that ceiling's mean."""
    result = features.compare_sets(generated, eval_)
    ceiling = features.compare_sets(augmented, eval_)
    mean = {name: float(np.mean([v["overlap"] for v in table.values()])) for name, table in
            (("generated", result), ("ceiling", ceiling))}
    return {"feature_overlap_augmented_ceiling": {k: v["overlap"] for k, v in ceiling.items()},
            "feature_overlap_ratio_augmented_ceiling": mean["generated"] / max(mean["ceiling"], 1e-12)}
