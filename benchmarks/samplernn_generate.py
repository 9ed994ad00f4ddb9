"""SampleRNN generation speed (compiled loop vs a naive per-sample Keras loop) and training speed.

The real-time factor (RTF) is seconds of 16 kHz audio generated per wall-clock second, summed
over the batch. Because the machine is shared, the CPU-time RTF (audio seconds per second of CPU
this process used) is printed beside it: it is what an idle 2-core machine would give at most.
Weights are random: the cost per sample does not depend on training.

The naive baseline is how public implementations sample: a Python loop that calls the Keras
layers once per sample (the frame tiers at their frame boundaries, the sample MLP every
sample), eagerly, with tf.random.categorical; timed on a few hundred samples.

Training speed: samples (predicted targets) per second of the harness's compiled train step
(Adam, clipping) on batches of the preset's shape. Generation runs with one op thread, as
``generate`` sets it; run with ``--intra-op-threads 0`` (TensorFlow's pool, as training uses)
for the training figures.

Usage: .venv/bin/python benchmarks/samplernn_generate.py [--configs default default_2tier]
           [--seconds 4] [--batches 1 16] [--naive-samples 320] [--repeats 3] [--train-steps 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from composer.audio.samplernn.family import FAMILY, SampleRNNConfig  # noqa: E402
from composer.config import load  # noqa: E402
from composer.train.steps import make_optimizer, make_train_step  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16000
META = {"sample_rate": SAMPLE_RATE, "q_levels": 256, "quantization": "mu-law", "eval_unigram_bits": None}


def timed(func) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def compiled_rtf(model, *, batch: int, seconds: float, repeats: int) -> dict:
    """Median wall and CPU RTF of ``model.generate``; first call (with compilation) apart."""
    n = int(seconds * SAMPLE_RATE)
    first, _ = timed(lambda: model.generate(n, batch_size=batch, seed=0))
    runs = [timed(lambda: model.generate(n, batch_size=batch, seed=i + 1)) for i in range(repeats)]
    audio_s = seconds * batch
    return {"rtf": audio_s / statistics.median(w for w, _ in runs),
            "cpu_rtf": audio_s / statistics.median(c for _, c in runs), "first_call_s": first}


def naive_generate(model, n_samples: int, *, batch: int) -> np.ndarray:
    """One eager Keras call chain per sample, state and history kept in Python."""
    history = np.full((batch, model.lookback), model.silence, np.int32)
    states = model.initial_states(batch)
    conditioning = [None] * (len(model.frame_tiers) + 1)  # per tier: [batch, ratio, dim] of its last step
    out = []
    for t in range(n_samples):
        for level, tier in enumerate(model.frame_tiers):
            if t % tier.frame_size == 0:
                above = conditioning[level]
                cond = None if above is None else above[:, (t % model.frame_tiers[level - 1].frame_size)
                                                        // tier.frame_size]
                conditioning[level + 1], states[level] = tier.step(history[:, -tier.frame_size:], cond, states[level])
        window = model.sample_tier.window
        embedded = tf.gather(model.sample_tier.embedding, history[:, -window:])
        x = tf.einsum("bwe,wed->bd", embedded, model.sample_tier.input_kernel())
        cond = conditioning[-1][:, t % model.frame_tiers[-1].frame_size]
        logits = model.sample_tier.mlp(x + cond)
        code = tf.random.categorical(logits, 1, dtype=tf.int32).numpy()[:, 0]
        history = np.concatenate([history[:, 1:], code[:, None]], axis=1)
        out.append(code)
    return np.stack(out, axis=1)


def naive_rtf(model, *, batch: int, n_samples: int) -> dict:
    naive_generate(model, model.lookback, batch=batch)  # warm-up: first eager calls build caches
    wall, cpu = timed(lambda: naive_generate(model, n_samples, batch=batch))
    audio_s = n_samples / SAMPLE_RATE * batch
    return {"rtf": audio_s / wall, "cpu_rtf": audio_s / cpu}


def training_rate(config: SampleRNNConfig, *, steps: int) -> dict:
    """Median predicted samples per second of the harness's train step (after its tracing)."""
    model = FAMILY.build_model(config, META)
    optimizer = make_optimizer(config.train)
    optimizer.build(model.trainable_variables)
    codes = np.random.default_rng(0).integers(0, 256, (config.train.batch_size, model.lookback + config.subseq_len))
    batch = {"codes": tf.constant(codes, tf.int32), "reset": tf.constant(False),
             "weight": tf.ones((config.train.batch_size,))}
    iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
    step = make_train_step(FAMILY, model, optimizer, tf.distribute.get_strategy(), iterator,
                           tf.Variable(0, dtype=tf.int64), clip_norm=config.train.clip_norm)
    step()
    runs = [timed(lambda: step().numpy()) for _ in range(steps)]
    per_step = config.train.batch_size * config.subseq_len
    return {"samples_per_s": per_step / statistics.median(w for w, _ in runs),
            "cpu_samples_per_s": per_step / statistics.median(c for _, c in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["default", "default_2tier"])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--naive-samples", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=6)
    parser.add_argument("--intra-op-threads", type=int, default=1,
                        help="TensorFlow op threads for the generation runs (1, as generate() sets; 0: TF default)")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    load_avg = os.getloadavg()[0]
    print(f"load average at start: {load_avg:.1f} on {os.cpu_count()} cores")
    print("| config | batch | compiled RTF (wall) | compiled RTF (CPU) | naive RTF (wall) | naive RTF (CPU) "
          "| speed-up (wall) | first call s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.configs:
        config = load(ROOT / "configs" / "samplernn" / f"{name}.yaml", SampleRNNConfig)
        model = FAMILY.build_model(config, META)
        for batch in args.batches:
            fast = compiled_rtf(model, batch=batch, seconds=args.seconds, repeats=args.repeats)
            slow = naive_rtf(model, batch=batch, n_samples=args.naive_samples)
            print(f"| {name} | {batch} | {fast['rtf']:.2f} | {fast['cpu_rtf']:.2f} | {slow['rtf']:.4f} | "
                  f"{slow['cpu_rtf']:.4f} | {fast['rtf'] / slow['rtf']:.0f}x | {fast['first_call_s']:.1f} |",
                  flush=True)
    if args.train_steps:
        print_training_rates(args.configs, steps=args.train_steps)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


def print_training_rates(configs: list[str], *, steps: int) -> None:
    print("\n| config | train samples/s (wall) | train samples/s (CPU) | batch x subseq_len |")
    print("|---|---:|---:|---|")
    for name in configs:
        config = load(ROOT / "configs" / "samplernn" / f"{name}.yaml", SampleRNNConfig)
        rate = training_rate(config, steps=steps)
        print(f"| {name} | {rate['samples_per_s']:.0f} | {rate['cpu_samples_per_s']:.0f} | "
              f"{config.train.batch_size} x {config.subseq_len} |", flush=True)


if __name__ == "__main__":
    main()
