"""Real-time factor of LSTM+VAE generation: the compiled loop against a naive per-frame loop.

The real-time factor (RTF) is seconds of audio generated per wall-clock second, summed over the
batch, for the whole pipeline (warm-up on a primer, the frame loop, inverse DCT, overlap-add).
Weights are random: the cost per frame does not depend on training. The naive baseline calls
``keras.Model.predict`` once per frame on a one-step model (how a plain Keras script samples),
timed on fewer frames.

Usage: .venv/bin/python benchmarks/lstm_vae_generate.py [--config configs/lstm_vae/default.yaml]
           [--seconds 30] [--naive-frames 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from composer.audio.lstm_vae_family import FAMILY, LstmVaeConfig, synthesize  # noqa: E402
from composer.audio.transforms import Normalizer  # noqa: E402
from composer.config import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def compiled_rtf(model, config, normalizer, *, sample_rate, batch, seconds, repeats, jit_compile):
    """(median RTF, first-call seconds incl. compilation) of ``synthesize`` for ``batch`` stems."""
    primers = np.random.default_rng(0).uniform(-0.1, 0.1, (batch, config.primer_frames * config.hop))
    primers = primers.astype(np.float32)

    def run():
        start = time.perf_counter()
        synthesize(model, config, normalizer, primers, sample_rate=sample_rate, seconds=seconds,
                   temperature=1.0, seed=0, jit_compile=jit_compile)
        return time.perf_counter() - start

    first = run()
    times = [run() for _ in range(repeats)]
    return seconds * batch / statistics.median(times), first


class OneStep(keras.Model):
    """The model's generation step as a Keras model, for the naive ``predict``-per-frame loop."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def call(self, inputs):
        frame, noise, *flat = inputs
        sizes = [len(s) for s in self.vae.zero_states(1)]
        states, i = [], 0
        for size in sizes:
            states.append(flat[i:i + size])
            i += size
        nxt, new_states = self.vae.step_frame(frame, states, noise)
        return [nxt] + [s for layer in new_states for s in layer]


def naive_rtf(model, config, *, sample_rate, batch, frames):
    """RTF of generating ``frames`` frames by one ``model.predict`` call per frame (numpy in and out)."""
    step = OneStep(model)
    frame = np.zeros((batch, model.feature_dim), np.float32)
    states = [np.zeros((batch, config.units), np.float32) for layer in model.zero_states(1) for _ in layer]
    rng = np.random.default_rng(0)
    step.predict([frame, rng.standard_normal((batch, max(model.latent_dim, 1))).astype(np.float32)] + states,
                 verbose=0)
    start = time.perf_counter()
    for _ in range(frames):
        noise = rng.standard_normal((batch, max(model.latent_dim, 1))).astype(np.float32)
        frame, *states = step.predict([frame, noise] + states, verbose=0, batch_size=batch)
    elapsed = time.perf_counter() - start
    return frames * config.hop / sample_rate * batch / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "lstm_vae" / "default.yaml")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--naive-frames", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    config = load(args.config, LstmVaeConfig)
    dim = config.spec.feature_dim
    normalizer = Normalizer(np.zeros(dim, np.float32), np.full(dim, 0.01, np.float32), np.full(dim, 5.0, np.float32))
    keras.utils.set_random_seed(0)
    model = FAMILY.build_model(config, {"feature_dim": dim})
    print(f"config {args.config.name}: {config.domain} frames of {config.frame_size} (hop {config.hop}), "
          f"{config.layers}x{config.units} {config.cell}, latent {config.latent_dim}, "
          f"{model.count_params():,} weights; {os.cpu_count()} CPUs; {args.seconds:g} s per stem")
    print(f"{'rate':>6} {'batch':>5} {'XLA loop':>10} {'graph loop':>11} {'naive predict':>14} {'XLA/naive':>10} "
          f"{'1st call (XLA)':>15}")
    for sample_rate in (44100, 16000):
        for batch in (1, 8):
            common = dict(sample_rate=sample_rate, batch=batch, seconds=args.seconds, repeats=args.repeats)
            xla, first = compiled_rtf(model, config, normalizer, jit_compile=True, **common)
            graph, _ = compiled_rtf(model, config, normalizer, jit_compile=False, **common)
            naive = naive_rtf(model, config, sample_rate=sample_rate, batch=batch, frames=args.naive_frames)
            print(f"{sample_rate:>6} {batch:>5} {xla:>9.0f}x {graph:>10.0f}x {naive:>13.1f}x {xla / naive:>9.0f}x "
                  f"{first:>14.1f}s")


if __name__ == "__main__":
    main()
