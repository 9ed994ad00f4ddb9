"""Distribution strategy and the compiled train step, kept apart from the loop's bookkeeping.

Data stays on a plain local ``tf.data`` iterator (checkpointable, so resume continues at the
same data position; a ``tf.distribute`` distributed iterator cannot be checkpointed). Each step
takes one global batch from it and hands every replica its slice. Under multi-worker training
every worker iterates the same seeded dataset and keeps the slices of its own replicas.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

from composer.errors import ConfigError

STRATEGIES = ("default", "mirrored", "multi-worker")


def make_strategy(name: str) -> Any:
    """``tf.distribute`` strategy by name; create it before any other TensorFlow work.

    "default": one device. "mirrored": MirroredStrategy over the visible GPUs (or the CPU,
    or the logical CPU devices a caller configured). "multi-worker": MultiWorkerMirroredStrategy
    with the cluster read from the TF_CONFIG environment variable.
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("strategy 'multi-worker' needs the TF_CONFIG environment variable "
                              "(cluster hosts and this worker's task index)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"unknown strategy '{name}' (valid: {', '.join(STRATEGIES)})")


def worker_index(strategy_name: str) -> int:
    """This process's worker index: 0 (the chief) unless multi-worker TF_CONFIG says otherwise."""
    if strategy_name != "multi-worker":
        return 0
    task = json.loads(os.environ["TF_CONFIG"]).get("task", {})
    index = int(task.get("index", 0))
    return index if task.get("type", "worker") == "worker" else index + 1  # a "chief" task counts first


def make_optimizer(train_config: Any) -> Any:
    """Adam at ``train.learning_rate``; loss scaling added for float16 mixed precision."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate=train_config.learning_rate)
    if train_config.mixed_precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_train_step(family: Any, model: Any, optimizer: Any, strategy: Any, iterator: Any, step: Any, *,
                    clip_norm: float | None, jit_compile: bool = False) -> Callable[[], Any]:
    """Compile one training step over the next global batch of ``iterator``; adds 1 to ``step``.

    The per-replica mean loss is divided by the replica count so the summed gradients are the
    gradient of the global-batch mean. Gradients are clipped by their global norm after the
    sum over replicas (so every replica clips the same gradient). With ``jit_compile`` the
    forward and backward pass are one XLA cluster (fused element-wise work around the matmuls:
    1.7x for the Performance RNN's LSTM loop on CPU); the data pipeline, the sum over replicas
    and the optimizer stay outside it. Returns a function giving the float32 tensor [2]:
    (global mean loss, gradient global norm before clipping).
    """
    import keras
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync
    scaled_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    @tf.function(jit_compile=jit_compile)
    def loss_and_gradients(batch: Any) -> tuple[Any, list]:
        with tf.GradientTape() as tape:
            loss = tf.cast(family.compute_loss(model, batch, training=True), tf.float32)
            objective = optimizer.scale_loss(loss / replicas)
        # dense: sums the repeated rows of embedding grads; None (an unused variable) stays None
        grads = tape.gradient(objective, model.trainable_variables)
        return loss, [g if g is None else tf.convert_to_tensor(g) for g in grads]

    def replica_step(batch: Any) -> Any:
        loss, all_grads = loss_and_gradients(batch)
        pairs = [(g, v) for g, v in zip(all_grads, model.trainable_variables) if g is not None]
        grads = [g for g, _ in pairs]
        if replicas > 1:
            grads = tf.distribute.get_replica_context().all_reduce("sum", grads)
        scale = optimizer.dynamic_scale if scaled_loss else 1.0
        norm = tf.linalg.global_norm(grads)
        if clip_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, clip_norm * scale, use_norm=norm)
        if replicas > 1:
            grads = [g / replicas for g in grads]  # the optimizer sums over replicas once more
        optimizer.apply_gradients(zip(grads, [v for _, v in pairs]))
        return tf.stack([loss, norm / scale])

    def split(batch: Any) -> Any:
        if replicas == 1:
            return batch
        return strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.nest.map_structure(
                lambda t: tf.split(t, replicas)[ctx.replica_id_in_sync_group], batch))

    @tf.function
    def train_step() -> Any:
        per_replica = strategy.run(replica_step, args=(split(next(iterator)),))
        step.assign_add(1)
        return strategy.reduce("mean", per_replica, axis=None)

    return train_step


def make_agreement(strategy: Any) -> Callable[[float], float]:
    """A function giving the mean of a float over every replica of ``strategy``: one value all workers of a
    multi-worker run share (each worker's own clock measures its budget; they must stop at the same step and
    train at the same rate, or one waits for the others in an all-reduce that never comes)."""
    import tensorflow as tf

    @tf.function
    def mean(value: Any) -> Any:
        return strategy.reduce("mean", strategy.run(tf.identity, args=(value,)), axis=None)

    return lambda value: float(mean(tf.constant(value, tf.float32)))
