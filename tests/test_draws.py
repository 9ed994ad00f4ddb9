"""composer.draws: the numpy and TensorFlow inverse-CDF draws follow the probabilities and agree."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from composer.draws import class_mass, draw_classes, draw_classes_tf


def test_draws_follow_the_probabilities_and_skip_impossible_classes():
    probs = np.array([0.2, 0.0, 0.5, 0.3])
    logits = np.tile(np.log(np.maximum(probs, 1e-30)).astype(np.float32), (10_000, 1))
    uniform = np.arange(10_000) / 10_000  # an even grid over [0, 1)
    for draw in (draw_classes, lambda *a, **k: draw_classes_tf(*a, **k).numpy()):
        draws = draw(logits, uniform, temperature=1.0)
        assert np.bincount(draws, minlength=4) / len(draws) == pytest.approx(probs, abs=1e-3)
        assert list(draw(logits[:2], np.array([0.0, 0.99999994]), temperature=1.0)) == [0, 3]
        assert set(draw(logits[:50], uniform[::200], temperature=0.0)) == {2}  # greedy


@pytest.mark.parametrize("n_classes", [10, 256, 388])
@pytest.mark.parametrize("temperature, top_p", [(1.0, None), (0.7, None), (1.3, 0.8), (1.0, 0.3), (0.0, None)])
def test_numpy_and_tensorflow_draw_the_same_classes(n_classes, temperature, top_p):
    """The same classes for the same logits and uniforms, except where a uniform lies within
    float rounding of a class boundary (the two sum the probabilities in different orders)."""
    rng = np.random.default_rng(n_classes)
    logits = (rng.standard_normal((400, n_classes)) * 2.0).astype(np.float32)
    uniform = rng.random(400)
    ours = draw_classes(logits, uniform, temperature=temperature, top_p=top_p)
    theirs = draw_classes_tf(tf.constant(logits), tf.constant(uniform, tf.float32), temperature=temperature,
                             top_p=top_p).numpy()
    mass = class_mass(logits, temperature=temperature, top_p=top_p).astype(np.float64)
    cdf = np.cumsum(mass, axis=1) / mass.sum(axis=1, keepdims=True)
    near_edge = np.abs(cdf - uniform[:, None]).min(axis=1) < 1e-5
    assert (ours == theirs)[~near_edge].all() and near_edge.mean() < 0.05


@pytest.mark.parametrize("top_p", [0.3, 0.8])
def test_top_p_keeps_the_smallest_set_reaching_the_mass(top_p):
    logits = (np.random.default_rng(1).standard_normal((4, 40)) * 2.0).astype(np.float32)
    uniform = np.arange(20_000) / 20_000
    for row in range(4):
        probs = np.exp(logits[row] - logits[row].max())
        probs /= probs.sum()
        order = np.argsort(-probs)
        size = int(np.searchsorted(np.cumsum(probs[order]), top_p) + 1)
        drawn = draw_classes(np.repeat(logits[row:row + 1], len(uniform), axis=0), uniform, temperature=1.0,
                             top_p=top_p)
        assert set(drawn) == set(order[:size])
