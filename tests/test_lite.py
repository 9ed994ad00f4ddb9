"""composer.lite: an exported step runs for any batch and thread count, inputs matched by name."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from composer.lite import LiteStep, export, per_model


class _Toy(tf.Module):
    """Two named float inputs and an int one, through a weight matrix big enough to be quantized."""

    def __init__(self) -> None:
        keras.utils.set_random_seed(0)
        self.weights = tf.Variable(tf.random.normal([64, 40]))

    @tf.function(input_signature=[tf.TensorSpec([None, 64], name="x"), tf.TensorSpec([None], tf.int32, name="k"),
                                  tf.TensorSpec([None, 3], name="bias")])
    def step(self, x, k, bias):
        y = tf.matmul(x, self.weights) + tf.cast(k, tf.float32)[:, None]
        return tf.concat([y, bias * 2.0], axis=1)


@pytest.mark.parametrize("threads", [1, 2])
def test_any_batch_matches_the_graph(threads):
    toy = _Toy()
    step = LiteStep(export(toy.step, toy, quantize=False), threads=threads)
    assert step.widths == {"x": (64,), "k": (), "bias": (3,)}
    rng = np.random.default_rng(0)
    for batch in (1, 5, 2, 5):  # the interpreters are resized when the batch changes
        x = rng.standard_normal((batch, 64)).astype(np.float32)
        k = np.arange(batch, dtype=np.int32)
        bias = rng.standard_normal((batch, 3)).astype(np.float32)
        out = step(bias=bias, x=x, k=k)
        assert out.shape == (batch, 43)
        np.testing.assert_allclose(out, toy.step(x, k, bias).numpy(), rtol=1e-5, atol=1e-5)


def test_int8_export_is_smaller_and_close():
    toy = _Toy()
    exact, int8 = export(toy.step, toy, quantize=False), export(toy.step, toy)
    assert len(int8) < len(exact) / 2
    x = np.random.default_rng(1).standard_normal((4, 64)).astype(np.float32)
    inputs = {"x": x, "k": np.zeros(4, np.int32), "bias": np.zeros((4, 3), np.float32)}
    reference = toy.step(**inputs).numpy()
    error = np.abs(LiteStep(int8)(**inputs) - reference).max()
    assert 0 < error < 0.02 * np.abs(reference).max()


def test_per_model_builds_once_per_model_and_builder():
    calls = []

    def build(model):
        calls.append(model)
        return object()

    first, second = _Toy(), _Toy()
    assert per_model(first, build) is per_model(first, build)
    assert per_model(second, build) is not per_model(first, build)
    assert calls == [first, second]
