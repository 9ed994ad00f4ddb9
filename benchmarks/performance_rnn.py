"""Performance RNN speed: training events/s vs a plain Keras LSTM stack, and sampling events/s.

Usage: .venv/bin/python benchmarks/performance_rnn.py [--repeats 3] [--gen-seconds 120]

Training: the default shape (3 x 512, 388 classes, batch 64 x 256 steps), one Adam step with
gradients, our model (composer.symbolic.model) and a stack of keras.layers.LSTM of the same
shape side by side, alternating, median of ``repeats`` timed steps each after one warm-up step.
Generation: the default model (untrained weights: speed does not depend on them) sampling at
batch 1 and 16 with the compiled loop; events counted up to each row's end.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from composer.symbolic.encoding import PerformanceEncoding  # noqa: E402
from composer.symbolic.model import PerformanceRNN  # noqa: E402
from composer.symbolic.sampling import sample_events  # noqa: E402

CLASSES, UNITS, LAYERS, BATCH, STEPS = 388, 512, 3, 64, 256


def plain_keras() -> keras.Model:
    """The baseline: one-hot events -> keras.layers.LSTM x 3 -> Dense, same shape as ours."""
    events = keras.Input((STEPS,), dtype="int32")
    x = keras.layers.Lambda(lambda e: keras.ops.one_hot(e, CLASSES), output_shape=(STEPS, CLASSES))(events)
    for _ in range(LAYERS):
        x = keras.layers.LSTM(UNITS, return_sequences=True)(x)
    return keras.Model(events, keras.layers.Dense(CLASSES)(x))


def train_step(model: keras.Model, wrap) -> callable:
    """A compiled Adam step on a fixed random batch; returns a function that runs one step."""
    rng = np.random.default_rng(0)
    events = tf.constant(rng.integers(0, CLASSES, (BATCH, STEPS)), tf.int32)
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            logits = model(wrap(events), training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=events, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


def bench_training(repeats: int) -> None:
    ours = PerformanceRNN(CLASSES, layer_sizes=(UNITS,) * LAYERS)
    steps = {"ours (FastLSTM)": train_step(ours, lambda e: {"events": e}),
             "plain keras.layers.LSTM": train_step(plain_keras(), lambda e: e)}
    for step in steps.values():
        step().numpy()  # trace and warm up
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step().numpy()
            times[name].append(time.perf_counter() - start)
    rates = {name: BATCH * STEPS / np.median(t) for name, t in times.items()}
    for name, rate in rates.items():
        print(f"train {name:26s} {rate:8.0f} events/s  (median of {repeats}, batch {BATCH} x {STEPS})")
    print(f"train speed-up ours / plain: {rates['ours (FastLSTM)'] / rates['plain keras.layers.LSTM']:.2f}x")


def bench_generation(seconds: float) -> None:
    encoding = PerformanceEncoding()
    model = PerformanceRNN(CLASSES, layer_sizes=(UNITS,) * LAYERS)
    model({"events": tf.zeros([1, 2], tf.int32)})
    for num in (1, 16):
        sample_events(model, encoding, num=num, seconds=seconds, seed=0)  # compile
        start = time.perf_counter()
        pieces = sample_events(model, encoding, num=num, seconds=seconds, seed=1)
        elapsed = time.perf_counter() - start
        events = sum(len(p) for p in pieces)
        print(f"generate batch {num:2d}: {events} events in {elapsed:.2f} s = {events / elapsed:8.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gen-seconds", type=float, default=120.0, help="piece length (untrained: ~8 events/s)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared)")
    bench_training(args.repeats)
    bench_generation(args.gen_seconds)


if __name__ == "__main__":
    main()
