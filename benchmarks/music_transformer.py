"""Music Transformer speed beside the Performance RNN: training and sampling events/s, default presets.

Usage: .venv/bin/python benchmarks/music_transformer.py [--repeats 3] [--gen-seconds 120] [--only train|generate]

Training: each family's default preset model stepped by the training harness's compiled step
(XLA as the presets set it) on random windows of the preset's batch and length; events/s =
batch x window / step time, median of ``repeats`` timed steps after a warm-up, the two families
alternating. Generation: the default models (untrained weights: a step costs the same whatever
the weights; the Transformer's step always reads its whole key/value ring buffer) at batch 1
through the one sampling loop (``sampler.sample_events``): the Music Transformer on the "tf"
engine, the Performance RNN on "tf" and "tflite"; alternating, median of ``repeats``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from composer.config import load as load_config  # noqa: E402
from composer.symbolic.controls import control_dim  # noqa: E402
from composer.symbolic.music_transformer.family import FAMILY as MT  # noqa: E402
from composer.symbolic.music_transformer.family import MusicTransformerConfig  # noqa: E402
from composer.symbolic.performance_rnn.family import FAMILY as PRNN  # noqa: E402
from composer.symbolic.performance_rnn.family import PerformanceRNNConfig  # noqa: E402
from composer.symbolic.sampler import sample_events  # noqa: E402
from composer.train.steps import make_optimizer, make_train_step  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PRESETS = {"music-transformer": (MT, CONFIGS / "music_transformer" / "default.yaml", MusicTransformerConfig),
           "performance-rnn": (PRNN, CONFIGS / "performance_rnn" / "default.yaml", PerformanceRNNConfig)}


def build(name: str) -> tuple:
    """(family, config, model) of a family's default preset, untrained."""
    family, path, config_class = PRESETS[name]
    config = load_config(path, config_class)
    meta = {"num_classes": config.encoding.num_classes, "controls": list(config.controls),
            "control_dim": control_dim(config.controls)}
    return family, config, family.build_model(config, meta)


def train_step(name: str) -> tuple:
    """The harness's compiled step on random windows of the preset's shape, and events per step."""
    family, config, model = build(name)
    batch, length = config.train.batch_size, config.example_events
    rng = np.random.default_rng(0)
    window = {"events": tf.constant(rng.integers(0, 388, (batch, length)), tf.int32),
              "targets": tf.constant(rng.integers(0, 388, (batch, length)), tf.int32),
              "weights": tf.ones([batch, length])}
    data = iter(tf.data.Dataset.from_tensors(window).repeat())
    step = make_train_step(family, model, make_optimizer(config.train), tf.distribute.get_strategy(), data,
                           tf.Variable(0, dtype=tf.int64), clip_norm=config.train.clip_norm,
                           jit_compile=config.train.jit_compile)
    return step, batch * length


def bench_training(repeats: int) -> None:
    steps = {name: train_step(name) for name in PRESETS}
    for step, _ in steps.values():
        step()  # compile
    rates = {name: [] for name in steps}
    for _ in range(repeats):
        for name, (step, events) in steps.items():
            start = time.perf_counter()
            step().numpy()  # (loss, gradient norm): waits for the step
            rates[name].append(events / (time.perf_counter() - start))
    print("train (default presets): " + ", ".join(f"{n} {np.median(r):7.0f} events/s" for n, r in rates.items()))


def bench_generation(seconds: float, repeats: int) -> None:
    engines = [("music-transformer", "tf"), ("performance-rnn", "tf"), ("performance-rnn", "tflite")]
    models = {name: build(name)[1:] for name in PRESETS}
    for name, engine in engines:
        config, model = models[name]
        sample_events(model, config.encoding, seconds=seconds / 10, seed=0, engine=engine)  # compile, export
    rates = {pair: [] for pair in engines}
    for repeat in range(repeats):
        for name, engine in engines:
            config, model = models[name]
            start = time.perf_counter()
            (piece,) = sample_events(model, config.encoding, seconds=seconds, seed=repeat + 1, engine=engine)
            rates[(name, engine)].append(len(piece) / (time.perf_counter() - start))
    print("generate batch 1: " + ", ".join(f"{n} ({e}) {np.median(r):6.0f} events/s" for (n, e), r in rates.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gen-seconds", type=float, default=120.0, help="piece length (untrained: ~8 events/s)")
    parser.add_argument("--only", choices=("train", "generate"), help="run one half")
    args = parser.parse_args()
    if args.only in (None, "train"):
        bench_training(args.repeats)
    if args.only in (None, "generate"):
        bench_generation(args.gen_seconds, args.repeats)


if __name__ == "__main__":
    main()
