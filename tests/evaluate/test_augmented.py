"""The augmented train split's feature-overlap ceiling (composer.evaluate.augmented)."""

import numpy as np
import pytest

from composer.evaluate import augmented
from composer.evaluate.markdown import render_report
from composer.measures import features
from composer.symbolic.performance_rnn.family import PerformanceRNNConfig
from tests.evaluate.test_report import sequence_of


@pytest.fixture(scope="module")
def chunks(corpus_notes):
    encoding = PerformanceRNNConfig().encoding
    return [encoding.encode(sequence_of(notes)) for notes in corpus_notes["train"]]


def test_no_augmentation_gives_the_train_ceiling(corpus_notes, chunks):
    config = PerformanceRNNConfig(transpose=0, stretch_variants=1)
    train = features.set_features(config.encoding.decode(chunk) for chunk in chunks)
    eval_ = features.set_features(sequence_of(n) for n in corpus_notes["eval"])
    generated = features.set_features([sequence_of(corpus_notes["fresh"])])
    keys = augmented.augmented_ceiling(generated, eval_, augmented.augmented_features(chunks, config))
    summary = features.feature_summary(generated, eval_, train)
    assert keys["feature_overlap_augmented_ceiling"] == pytest.approx(summary["feature_overlap_ceiling"])
    assert keys["feature_overlap_ratio_augmented_ceiling"] == pytest.approx(summary["feature_overlap_ratio"])


def test_augmentation_transposes_within_range_and_stretches(chunks):
    config = PerformanceRNNConfig(transpose=6, stretch=(0.9, 1.1), stretch_variants=3)
    variants = augmented.augmented_chunks(chunks, config, seed=1)
    assert len(variants) == 3 * len(chunks)
    pitches = lambda c: {n.pitch for n in config.encoding.decode(c).notes}  # noqa: E731
    shifts = set()
    for original, variant in zip(chunks * 3, variants):
        low, high = min(pitches(original)), min(pitches(variant))
        shifts.add(high - low)
        assert abs(high - low) <= 6
    assert len(shifts) > 1
    lengths = [config.encoding.decode(v).total_time for v in variants[::len(chunks)]]
    assert lengths[0] < lengths[1] < lengths[2]


def test_report_names_both_ceilings():
    overlap = {name: 0.5 for name in features.FEATURES}
    metrics = {"corpus": "c", "generated": [], "plots": {}, "feature_overlap": overlap,
               "feature_overlap_ceiling": overlap, "feature_kl": overlap, "feature_kl_ceiling": overlap,
               "feature_overlap_ratio": 0.9, "feature_overlap_ratio_eval_ceiling": 0.9,
               "feature_overlap_augmented_ceiling": dict(overlap, velocity=0.6),
               "feature_overlap_ratio_augmented_ceiling": 0.95}
    text = render_report(metrics)
    assert "**0.900** against the eval-vs-train ceiling" in text
    assert "augmented train split's ceiling" in text and "**0.950**" in text
    del metrics["feature_overlap_ratio_augmented_ceiling"]
    assert "augmented" not in render_report(metrics)


def test_ratio_is_zero_without_overlap():
    a = {name: np.array([0.0]) for name in features.FEATURES}
    b = {name: np.array([1e6]) for name in features.FEATURES}
    keys = augmented.augmented_ceiling(b, a, a)
    assert keys["feature_overlap_ratio_augmented_ceiling"] == pytest.approx(0.0, abs=1e-6)
