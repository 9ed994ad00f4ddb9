"""How close to the eval split can a perfect model of the *augmented* train split come?

The library's ``composer.evaluate.augmented`` builds the augmented split (``composer evaluate``
reports the ratio against it for a run); this prints it for a corpus and a preset, per feature.

Usage: python benchmarks/augmentation_ceiling.py CORPUS CONFIG.yaml [--seed 0]
"""

from __future__ import annotations

import argparse

import yaml

from composer.config import load
from composer.corpus.corpus import Corpus
from composer.evaluate.augmented import augmented_features
from composer.measures import features
from composer.symbolic.cache import encoded_split
from composer.train.family import get_family


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("config")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = Corpus.open(args.corpus)
    with open(args.config) as handle:
        config = load(args.config, get_family(yaml.safe_load(handle)["model"]).config_class)
    train = encoded_split(corpus, "train", config.encoding)
    sets = {"train": features.set_features(config.encoding.decode(chunk) for chunk in train),
            "augmented": augmented_features(train, config, seed=args.seed)}
    eval_ = features.set_features(corpus.sequences("eval"))
    summary = features.feature_summary(sets["augmented"], eval_, sets["train"])
    print(f"{args.corpus}, transpose +-{config.transpose}, stretch {list(config.stretch)} x {config.stretch_variants}: "
          f"augmented train / train feature overlap ratio {summary['feature_overlap_ratio']:.3f}")
    for name, overlap in summary["feature_overlap"].items():
        print(f"  {name}: {overlap / summary['feature_overlap_ceiling'][name]:.2f}")


if __name__ == "__main__":
    main()
