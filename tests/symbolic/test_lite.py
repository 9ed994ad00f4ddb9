"""The TFLite sampling engine: the model's own step, and the TensorFlow loop's sampling rules."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from composer.symbolic.encoding import PerformanceEncoding
from composer.symbolic.lite import PerformanceStep, draw, export_step, sample_events_lite
from composer.symbolic.model import PerformanceRNN
from composer.symbolic.sampling import _nucleus, sample_events


def _model(control_dim: int = 0) -> PerformanceRNN:
    keras.utils.set_random_seed(0)  # temperature 0 is nearly greedy: fixed weights, no near-ties by chance
    model = PerformanceRNN(388, layer_sizes=(32, 48), control_dim=control_dim)
    inputs = {"events": tf.zeros([1, 2], tf.int32)}
    if control_dim:
        inputs["controls"] = tf.zeros([1, 2, control_dim])
    model(inputs)
    for variable in model.trainable_variables:  # large enough weights that int8 rounding matters
        variable.assign(variable * 4.0)
    return model


@pytest.mark.parametrize("quantize, tolerance", [(False, 1e-5), (True, 0.05)])
def test_exported_step_computes_the_models_step(quantize, tolerance):
    """Three steps, so the carried state counts too."""
    model = _model(control_dim=13)
    step = PerformanceStep(export_step(model, quantize=quantize))
    events = np.array([1, 200, 380], np.int32)
    controls = np.random.default_rng(0).random((3, 13)).astype(np.float32)
    states, expected_states = step.initial_state(3), model.initial_state(3)
    for _ in range(3):
        logits, states = step(events, controls, states)
        expected, expected_states = model.step(tf.constant(events), tf.constant(controls), expected_states)
        assert logits.shape == (3, 388)
        assert np.abs(logits - expected.numpy()).max() <= tolerance * np.abs(expected.numpy()).max()


def test_draw_follows_the_probabilities_and_skips_impossible_classes():
    probs = np.array([0.2, 0.0, 0.5, 0.3])
    logits = np.tile(np.log(np.maximum(probs, 1e-30)).astype(np.float32), (10_000, 1))
    uniform = (np.arange(10_000) + 0.5) / 10_000
    draws = draw(logits, uniform, temperature=1.0, top_p=None)
    assert np.bincount(draws, minlength=4) / len(draws) == pytest.approx(probs, abs=1e-3)
    assert list(draw(logits[:2], np.array([1e-12, 1.0]), temperature=1.0, top_p=None)) == [0, 3]
    assert set(draw(logits[:50], uniform[::200], temperature=0.0, top_p=None)) == {2}  # greedy


@pytest.mark.parametrize("top_p", [0.3, 0.8])
def test_draw_top_p_keeps_the_classes_the_tf_nucleus_keeps(top_p):
    logits = (np.random.default_rng(1).standard_normal((4, 40)) * 2.0).astype(np.float32)
    kept = np.isfinite(_nucleus(tf.constant(logits), tf.constant(top_p)).numpy())
    uniform = (np.arange(20_000) + 0.5) / 20_000
    for row in range(4):
        drawn = draw(np.repeat(logits[row:row + 1], len(uniform), axis=0), uniform, temperature=1.0, top_p=top_p)
        assert set(drawn) == set(np.flatnonzero(kept[row]))


def test_greedy_loops_of_both_engines_write_the_same_piece():
    """At temperature 0 both loops follow the argmax: the primer, timing and stopping rules must agree."""
    model, encoding = _model(), PerformanceEncoding()
    primer = np.array([encoding.velocity_offset + 10, 60, encoding.shift_offset + 20, 60 + 128], np.int32)
    expected = sample_events(model, encoding, num=2, seconds=1.5, temperature=0.0, seed=0, primer=primer)
    pieces = sample_events_lite(PerformanceStep(export_step(model, quantize=False)), encoding, num=2, seconds=1.5,
                                temperature=0.0, seed=0, primer=primer, controls=None, top_p=None,
                                max_events=len(primer) + 1.5 * 300)
    assert [list(p) for p in pieces] == [list(p) for p in expected]
    assert list(pieces[0][:len(primer)]) == list(primer)


def test_same_seed_same_events_and_rows_differ():
    model, encoding = _model(), PerformanceEncoding()
    first, second = (sample_events(model, encoding, num=3, seconds=2.0, seed=4, engine="tflite") for _ in range(2))
    assert [list(p) for p in first] == [list(p) for p in second]
    assert len({tuple(p) for p in first}) == 3
