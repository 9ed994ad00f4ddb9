"""How close to the eval split can a perfect model of the *augmented* train split come?

The feature-overlap ratio of ``composer evaluate`` puts generated MIDI against the train split's
own overlap with the eval split (1.0). A model trained with transposition and time stretch
learns the augmented split, whose keys and tempos the corpus does not all use; its best possible
ratio is that of the augmented train split itself, measured here with the training code's own
stretch factors and a transposition drawn per chunk inside the same range.

Usage: python benchmarks/augmentation_ceiling.py CORPUS CONFIG.yaml [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import tensorflow as tf

from composer.config import load
from composer.corpus.corpus import Corpus
from composer.measures import features
from composer.symbolic.augment import transpose_window, transposition_range
from composer.symbolic.cache import encoded_split
from composer.symbolic.dataset import stretched
from composer.train.family import get_family


def transposed(events: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    """``events`` shifted by a draw in +-``most`` semitones that keeps every pitch in 0..127, by the
    training pipeline's own ``transposition_range`` and ``transpose_window``."""
    events, weights = tf.constant(events, tf.int32), tf.ones(len(events))
    low, high = (int(bound) for bound in transposition_range(events, weights, most))
    return transpose_window(events, weights, tf.constant(int(rng.integers(low, high + 1)))).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("config")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = Corpus.open(args.corpus)
    import yaml

    with open(args.config) as handle:
        config = load(args.config, get_family(yaml.safe_load(handle)["model"]).config_class)
    encoding, rng = config.encoding, np.random.default_rng(args.seed)
    train = encoded_split(corpus, "train", encoding)
    augmented = [transposed(chunk, config.transpose, rng)
                 for chunk in stretched(train, encoding, low=config.stretch[0], high=config.stretch[1],
                                        count=config.stretch_variants)]
    sets = {name: features.set_features(encoding.decode(chunk) for chunk in chunks)
            for name, chunks in (("train", train), ("augmented", augmented))}
    eval_ = features.set_features(corpus.sequences("eval"))
    summary = features.feature_summary(sets["augmented"], eval_, sets["train"])
    print(f"{args.corpus}, transpose +-{config.transpose}, stretch {list(config.stretch)} x {config.stretch_variants}: "
          f"augmented train / train feature overlap ratio {summary['feature_overlap_ratio']:.3f}")
    for name, overlap in summary["feature_overlap"].items():
        print(f"  {name}: {overlap / summary['feature_overlap_ceiling'][name]:.2f}")


if __name__ == "__main__":
    main()
