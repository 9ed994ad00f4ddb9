"""What the training harness costs: steps/s through ``composer.train.trainer.train`` vs a bare
``model.fit`` of the same Keras model, optimizer (Adam, global-norm clipping) and data.

The model is Performance-RNN sized for a CPU: Embedding(388, 64) -> LSTM(256) -> Dense(388) over
[32, 64] token batches. Throughput is measured per window of ``--window`` steps after the first
(which includes tracing): the harness's own items/s scalars from its TensorBoard log, and a
callback timing the same windows in ``fit``. Checkpoints and evaluation are left to the end of
the harness run, so the comparison is the loop itself (per-step NaN check, progress, logs).

Usage: python benchmarks/harness_overhead.py [--repeats 3] [--steps 60] [--window 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from composer.config import TrainConfig  # noqa: E402
from composer.train.family import FAMILIES  # noqa: E402

VOCAB, LENGTH, BATCH = 388, 64, 32


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    model: str = "bench-lstm"
    seed: int = 0
    train: TrainConfig = TrainConfig()


class BenchData:
    """A corpus stand-in: random event sequences, int32 [n, LENGTH + 1] per split."""

    name = "bench"

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.splits = {"train": rng.integers(0, VOCAB, (512, LENGTH + 1), dtype=np.int32),
                       "eval": rng.integers(0, VOCAB, (64, LENGTH + 1), dtype=np.int32)}

    def fingerprint(self) -> str:
        return "bench"

    def chunk_counts(self) -> dict:
        return {split: {"symbolic": len(a), "audio": 0} for split, a in self.splits.items()}


class BenchFamily:
    name = "bench-lstm"
    config_class = BenchConfig

    def prepare(self, corpus: BenchData, config: BenchConfig, run_dir: Path) -> dict:
        return {}

    def build_model(self, config: Any = None, meta: Any = None) -> Any:
        import keras

        tokens = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(VOCAB, 64)(tokens)
        x = keras.layers.LSTM(256, return_sequences=True)(x)
        return keras.Model(tokens, keras.layers.Dense(VOCAB)(x))

    def make_dataset(self, corpus: BenchData, config: Any, meta: dict, *, split: str, training: bool) -> Any:
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices(corpus.splits[split])
        if training:
            dataset = dataset.shuffle(512, seed=0).repeat()
        return dataset.batch(BATCH, drop_remainder=True).prefetch(2)

    def compute_loss(self, model: Any, batch: Any, *, training: bool) -> Any:
        import keras
        import tensorflow as tf

        logits = model(batch[:, :-1], training=training)
        return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(batch[:, 1:], logits, from_logits=True))

    def summarize(self, eval_loss: float, meta: dict) -> dict:
        return {}


FAMILY = BenchFamily()
FAMILIES[FAMILY.name] = f"{__name__}:FAMILY"


def harness_rates(steps: int, window: int) -> list[float]:
    """Steps/s of each window after the first, read back from the harness's TensorBoard log."""
    import yaml
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from composer.train.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(yaml.safe_dump({"model": FAMILY.name, "seed": 0, "train": {
            "steps": steps, "batch_size": BATCH, "learning_rate": 1e-3, "clip_norm": 3.0, "log_every": window,
            "eval_every": steps, "checkpoint_every": steps, "eval_batches": 1}}))
        train(FAMILY.name, corpus=BenchData(), config_path=config, run_dir=Path(tmp) / "run", progress=False)
        events = EventAccumulator(str(Path(tmp) / "run" / "logs"), size_guidance={"tensors": 0}).Reload()
        rates = [float(e.tensor_proto.float_val[0] if e.tensor_proto.float_val else
                       np.frombuffer(e.tensor_proto.tensor_content, np.float32)[0])
                 for e in events.Tensors("items_per_s")]
    return [rate / BATCH for rate in rates[1:]]


def fit_rates(steps: int, window: int) -> list[float]:
    """Steps/s of each window after the first in ``model.fit`` of the same model and data."""
    import keras

    keras.utils.set_random_seed(0)
    model = FAMILY.build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=3.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)  # as the harness's tf.function (Keras's "auto" may pick XLA)
    dataset = FAMILY.make_dataset(BenchData(), None, {}, split="train", training=True)
    dataset = dataset.map(lambda batch: (batch[:, :-1], batch[:, 1:]))
    marks: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if (batch + 1) % window == 0:
                marks.append(time.perf_counter())

    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[Clock()])
    ends = [start, *marks]
    return [window / (b - a) for a, b in zip(ends[1:], ends[2:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--window", type=int, default=10)
    args = parser.parse_args()
    harness, fit = [], []
    for repeat in range(args.repeats):  # alternate, so a busy spell on a shared machine hits both
        fit.append(statistics.median(fit_rates(args.steps, args.window)))
        harness.append(statistics.median(harness_rates(args.steps, args.window)))
        print(f"repeat {repeat + 1}: model.fit {fit[-1]:.2f} steps/s   harness {harness[-1]:.2f} steps/s", flush=True)
    fit_median, harness_median = statistics.median(fit), statistics.median(harness)
    print(f"median of {args.repeats}: model.fit {fit_median:.2f} steps/s, harness {harness_median:.2f} steps/s, "
          f"harness/fit {harness_median / fit_median:.3f} (overhead {100 * (1 - harness_median / fit_median):+.1f}%)")


if __name__ == "__main__":
    main()
