"""Checkpoints hold every weight, even of Keras 3 layers kept in a Python list."""

import keras
import numpy as np

from composer.train.run import model_checkpoint


class ListOfLayers(keras.Model):
    """Layers in a list: invisible to tf.train.Checkpoint's object graph on their own."""

    def __init__(self):
        super().__init__()
        self.stack = [keras.layers.Dense(3), keras.layers.Dense(2)]

    def call(self, x):
        for layer in self.stack:
            x = layer(x)
        return x


def built(seed: int) -> ListOfLayers:
    keras.utils.set_random_seed(seed)
    model = ListOfLayers()
    model(np.zeros((1, 4), np.float32))
    return model


def test_every_weight_round_trips(tmp_path):
    saved = built(1)
    path = model_checkpoint(saved).save(str(tmp_path / "ckpt"))
    restored = built(2)
    status = model_checkpoint(restored).restore(path)
    status.assert_existing_objects_matched()
    assert len(restored.weights) == 4
    for want, got in zip(saved.weights, restored.weights):
        np.testing.assert_array_equal(want.numpy(), got.numpy())
