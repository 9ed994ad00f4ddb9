"""Performance RNN speed: training events/s vs a plain Keras LSTM stack, and sampling events/s.

Usage: .venv/bin/python benchmarks/performance_rnn.py [--repeats 3] [--gen-seconds 120]
           [--only train|generate] [--run RUN_DIR --root CORPUS_ROOT]

Training: the default shape (3 x 512, 388 classes, batch 64 x 256 steps), one Adam step with
gradients: ours is the default preset's model stepped by the training harness's own compiled
step (XLA as the preset sets it), the baseline a stack of keras.layers.LSTM of the same shape in
a plain tf.function; side by side, alternating, median of ``repeats`` timed steps each after one
warm-up step.
Generation: the default model (untrained weights: speed does not depend on them) sampling at
batch 1 and 16 with both engines of the one sampling loop, alternating: "tf" (float32, the loop
compiled with XLA) and "tflite" (int8 weights, ``composer generate``'s default); events counted
up to each row's end, median of ``repeats`` after a warm-up (the warm-up includes the int8
export, timed separately).
With --run, the run's model scores the first eval chunks of its corpus through the float and
the int8 export: the price of int8 weights in nats/event.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from composer.config import load as load_config  # noqa: E402
from composer.symbolic.encoding import PerformanceEncoding  # noqa: E402
from composer.symbolic.engines import ENGINES  # noqa: E402
from composer.symbolic.performance_rnn.family import FAMILY, PerformanceRNNConfig  # noqa: E402
from composer.symbolic.performance_rnn.lite import PerformanceStep, export_step, lite_step, nll_per_event  # noqa: E402
from composer.symbolic.performance_rnn.model import PerformanceRNN  # noqa: E402
from composer.symbolic.sampler import sample_events  # noqa: E402
from composer.train.steps import make_optimizer, make_train_step  # noqa: E402

CLASSES, BATCH, STEPS = 388, 64, 256
DEFAULT_PRESET = Path(__file__).resolve().parents[1] / "configs" / "performance_rnn" / "default.yaml"


def plain_keras() -> keras.Model:
    """The baseline: one-hot events -> keras.layers.LSTM stack -> Dense, the default preset's shape."""
    events = keras.Input((STEPS,), dtype="int32")
    x = keras.layers.Lambda(lambda e: keras.ops.one_hot(e, CLASSES), output_shape=(STEPS, CLASSES))(events)
    for units in load_config(DEFAULT_PRESET, PerformanceRNNConfig).layers:
        x = keras.layers.LSTM(units, return_sequences=True)(x)
    return keras.Model(events, keras.layers.Dense(CLASSES)(x))


def plain_train_step(model: keras.Model, events: tf.Tensor) -> callable:
    """The baseline's compiled Adam step (a plain ``tf.function``: XLA makes the Keras LSTM slower)."""
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            logits = model(events, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=events, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


def harness_train_step(events: tf.Tensor) -> callable:
    """Ours: the default preset's model and the harness's own train step (XLA, clipping, Adam)."""
    config = load_config(DEFAULT_PRESET, PerformanceRNNConfig)
    meta = {"num_classes": CLASSES, "controls": [], "control_dim": 0}
    model = FAMILY.build_model(config, meta)
    batch = {"events": events, "targets": events, "weights": tf.ones_like(events, tf.float32)}
    data = iter(tf.data.Dataset.from_tensors(batch).repeat())
    return make_train_step(FAMILY, model, make_optimizer(config.train), tf.distribute.get_strategy(), data,
                           tf.Variable(0, dtype=tf.int64), clip_norm=config.train.clip_norm,
                           jit_compile=config.train.jit_compile)


def bench_training(repeats: int) -> None:
    events = tf.constant(np.random.default_rng(0).integers(0, CLASSES, (BATCH, STEPS)), tf.int32)
    steps = {"ours (harness, default preset)": harness_train_step(events),
             "plain keras.layers.LSTM": plain_train_step(plain_keras(), events)}
    for step in steps.values():
        np.asarray(step())  # trace and warm up
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            np.asarray(step())
            times[name].append(time.perf_counter() - start)
    rates = {name: BATCH * STEPS / np.median(t) for name, t in times.items()}
    for name, rate in rates.items():
        print(f"train {name:32s} {rate:8.0f} events/s  (median of {repeats}, batch {BATCH} x {STEPS})")
    ours, plain = rates.values()
    print(f"train speed-up ours / plain: {ours / plain:.2f}x")


def bench_generation(seconds: float, repeats: int) -> None:
    encoding = PerformanceEncoding()
    model = PerformanceRNN(CLASSES, layer_sizes=load_config(DEFAULT_PRESET, PerformanceRNNConfig).layers)
    model({"events": tf.zeros([1, 2], tf.int32)})
    start = time.perf_counter()
    lite_step(model)
    print(f"int8 export of the default model: {time.perf_counter() - start:.1f} s (once per loaded model)")
    for num in (1, 16):
        rates = {engine: [] for engine in ENGINES}
        for engine in ENGINES:
            sample_events(model, encoding, num=num, seconds=seconds / 10, seed=0, engine=engine)  # compile
        for repeat in range(repeats):
            for engine in ENGINES:
                start = time.perf_counter()
                pieces = sample_events(model, encoding, num=num, seconds=seconds, seed=repeat + 1, engine=engine)
                rates[engine].append(sum(len(p) for p in pieces) / (time.perf_counter() - start))
        medians = {engine: float(np.median(r)) for engine, r in rates.items()}
        print(f"generate batch {num:2d}: " + ", ".join(f"{e} {m:8.0f} events/s" for e, m in medians.items())
              + f"; tflite / tf {medians['tflite'] / medians['tf']:.2f}x")


def bench_int8_likelihood(run_dir: Path, root: str | None, chunks: int = 16, events: int = 512) -> None:
    from composer.corpus import Corpus
    from composer.symbolic.cache import encoded_split
    from composer.train.run import CORPUS, load_run, read_json

    run = load_run(run_dir, model="performance-rnn")
    corpus = Corpus.open(read_json(run_dir / CORPUS)["name"], root=root)
    split = [c[:events] for c in encoded_split(corpus, "eval", run.config.encoding) if len(c) >= events][:chunks]
    batch = np.stack(split)
    scores = {name: nll_per_event(PerformanceStep(export_step(run.model, quantize=q)), batch)
              for name, q in (("float32", False), ("int8", True))}
    print(f"{run_dir}: {len(split)} eval chunks x {events} events, nats/event: "
          + ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
          + f"; int8 - float32 {scores['int8'] - scores['float32']:+.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gen-seconds", type=float, default=120.0, help="piece length (untrained: ~8 events/s)")
    parser.add_argument("--only", choices=("train", "generate"), help="run one half")
    parser.add_argument("--run", type=Path, help="a trained run: int8 vs float32 held-out nats/event")
    parser.add_argument("--root", help="corpus root of --run's corpus")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared)")
    if args.only != "generate":
        bench_training(args.repeats)
    if args.only != "train":
        bench_generation(args.gen_seconds, args.repeats)
    if args.run:
        bench_int8_likelihood(args.run, args.root)


if __name__ == "__main__":
    main()
