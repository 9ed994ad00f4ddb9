"""The Performance RNN model and its presets: gradients of the fast LSTM, shapes, config checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from composer.config import load
from composer.errors import ConfigError, RunDirError
from composer.symbolic.performance_rnn.family import FAMILY, PerformanceRNNConfig, check_meta
from composer.symbolic.performance_rnn.lstm import FastLSTM, lstm_cell

PRESETS = Path(__file__).resolve().parents[3] / "configs" / "performance_rnn"


def test_fast_lstm_gradients_match_autodiff():
    layer = FastLSTM(8, num_classes=5)
    dense, classes = tf.random.normal([3, 7, 4], seed=1), tf.constant(np.random.default_rng(0).integers(0, 5, (3, 7)))
    layer(dense, classes)
    weight = tf.random.normal([3, 7, 8], seed=2)

    def reference():
        xw, h, c, outputs = layer.project(dense, classes), tf.zeros([3, 8]), tf.zeros([3, 8]), []
        for t in range(7):
            h, c, _ = lstm_cell(xw[:, t] + h @ layer.recurrent_kernel, c)
            outputs.append(h)
        return tf.stack(outputs, 1)

    results = []
    for forward in (lambda: layer(dense, classes), reference):
        with tf.GradientTape() as tape:
            tape.watch(dense)
            loss = tf.reduce_sum(forward() * weight)
        results.append([loss, *tape.gradient(loss, [dense, *layer.trainable_variables])])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    # one step of the sampler equals the first step of the sequence
    h, _ = layer.step(dense[:, 0], classes[:, 0], (tf.zeros([3, 8]), tf.zeros([3, 8])))
    np.testing.assert_allclose(h, reference()[:, 0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("preset, layers, classes, control_dim", [
    ("tiny", (256,), 388, 0), ("tiny_conditioned", (256,), 388, 29),
    ("default", (512,), 388, 0), ("large", (1024, 1024, 1024), 388, 0)])
def test_presets(preset, layers, classes, control_dim):
    config = load(PRESETS / f"{preset}.yaml", PerformanceRNNConfig)
    assert config.layers == layers and config.encoding.num_classes == classes
    meta = {"num_classes": classes, "controls": list(config.controls), "control_dim": control_dim}
    check_meta(config, meta)
    if max(layers) > 256:
        return  # big nets: the config's shape is checked, the small ones are built
    model = FAMILY.build_model(config, meta)
    batch = {"events": tf.zeros([2, 9], tf.int32), "targets": tf.ones([2, 9], tf.int32), "weights": tf.ones([2, 9])}
    if control_dim:
        batch["controls"] = tf.zeros([2, 9, control_dim])
    assert model(batch).shape == (2, 9, classes)
    loss = FAMILY.compute_loss(model, batch, training=False)
    assert float(loss) == pytest.approx(np.log(classes), rel=0.1)  # untrained: about uniform


def test_config_and_meta_mismatches():
    with pytest.raises(ConfigError, match="unknown control"):
        PerformanceRNNConfig(controls=("tempo",))
    with pytest.raises(ConfigError, match="stretch"):
        PerformanceRNNConfig(stretch=(1.1, 0.9))
    config = PerformanceRNNConfig(velocity_bins=0)
    with pytest.raises(RunDirError, match="num_classes=388 but the config needs 356"):
        check_meta(config, {"num_classes": 388, "controls": [], "control_dim": 0})
