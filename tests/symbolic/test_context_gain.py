"""Truncated-context scoring (composer.symbolic.context_gain): the same late events, full vs cut context."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from composer.symbolic import context_gain
from composer.symbolic.controls import control_dim
from composer.symbolic.dataset import layout, windows_dataset
from composer.symbolic.music_transformer.family import FAMILY as MT
from composer.symbolic.music_transformer.family import MusicTransformerConfig
from composer.symbolic.performance_rnn.family import FAMILY as PRNN
from composer.symbolic.performance_rnn.family import PerformanceRNNConfig

V = 388


def eval_batches(lengths, *, window, controls=()):
    rng = np.random.default_rng(0)
    config = PerformanceRNNConfig(controls=controls)
    chunks = [rng.integers(0, 356, n).astype(np.int32) for n in lengths]
    data = layout(chunks, config.encoding, example_events=window, hop=None, controls=controls)
    return windows_dataset(data, example_events=window, batch_size=3, training=False, seed=0, num_classes=V,
                           controls=controls)


def test_cut_windows_hold_the_events_before_each_target():
    events = tf.reshape(tf.range(2 * 50, dtype=tf.int32), [2, 50])
    batch = {"events": events, "targets": events + 1, "weights": tf.ones([2, 50])}
    cut = context_gain.cut_windows(batch, np.array([0, 1]), np.array([40, 31]), cut=32)
    assert cut["events"].shape == (2, 32) and set(cut) == {"events", "targets"}
    np.testing.assert_array_equal(cut["events"][0], np.arange(9, 41))
    np.testing.assert_array_equal(cut["targets"][1, -1], 50 + 32)   # row 1's target 31 is its event 32


def test_model_seeing_at_most_the_cut_has_no_gain():
    """Two blocks attending 16 events each see 31 events back: cutting to 32 changes nothing."""
    config = MusicTransformerConfig(layers=2, width=32, heads=2, ff_dim=64, span=16)
    model = MT.build_model(config, {"num_classes": V, "controls": [], "control_dim": 0})
    result = context_gain.context_gain(model, eval_batches([400, 300, 100], window=300))
    # windows reaching position 256: 300 events (44 targets at 256..299) and 400 (1 window of 299 targets)
    assert result["context_events_scored"] == 45 + 44
    assert result["context_gain"] == pytest.approx(0.0, abs=1e-4)
    assert result["context_nll_full"] == pytest.approx(result["context_nll_cut"], abs=1e-4)


def test_recurrent_model_with_controls_scores_a_stride():
    config = PerformanceRNNConfig(layers=(16,), controls=("density",))
    model = PRNN.build_model(config, {"num_classes": V, "controls": ["density"],
                                      "control_dim": control_dim(config.controls)})
    data = eval_batches([400, 300], window=300, controls=("density",))
    every = context_gain.context_gain(model, data)
    strided = context_gain.context_gain(model, data, stride=4)
    assert every["context_events_scored"] == 89 and strided["context_events_scored"] == 23
    assert np.isfinite(every["context_gain"]) and abs(every["context_gain"]) < 1.0
    assert every["context_gain"] != 0.0   # an LSTM's state carries past 32 events


def test_no_window_reaching_the_position_scores_nothing():
    config = PerformanceRNNConfig(layers=(8,))
    model = PRNN.build_model(config, {"num_classes": V, "controls": [], "control_dim": 0})
    result = context_gain.context_gain(model, eval_batches([100, 200], window=200))
    assert result["context_events_scored"] == 0 and result["context_gain"] is None


@pytest.mark.parametrize("lengths, window, eligible", [([400, 300, 100], 300, 89), ([257], 2048, 1),
                                                       ([256], 2048, 0), ([1000], 512, 257 + 232)])
def test_eligible_events(lengths, window, eligible):
    assert context_gain.eligible_events(lengths, window=window) == eligible
    assert context_gain.stride_for(eligible, most=10) == max(1, -(-eligible // 10))
