"""LSTM+VAE generation: real-time factor against a naive loop, and (--quality) VAE vs plain LSTM.

The real-time factor (RTF) is seconds of audio generated per wall-clock second, summed over the
batch, for the whole pipeline (warm-up on a primer, the frame loop, inverse DCT, overlap-add).
Weights are random: the cost per frame does not depend on training. The naive baseline calls
``keras.Model.predict`` once per frame on a one-step model (how a plain Keras script samples),
timed on fewer frames.

``--quality`` instead trains the VAE and its ``latent_dim: 0`` twin (the plain-LSTM baseline) on the
same corpus (Bach chorales rendered to audio through the corpus stage) for the same steps, then
measures their generated audio with composer.evaluate: loop_ratio (share of sounding frames that
recur >= 1 s later), copy_rate (share matching a training frame within 1 dB), silence_ratio.

Usage: .venv/bin/python benchmarks/lstm_vae_generate.py [--config configs/lstm_vae/default.yaml]
           [--seconds 30] [--naive-frames 20] [--repeats 3]
       .venv/bin/python benchmarks/lstm_vae_generate.py --quality [--work DIR] [--steps 600] [--chorales 12]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from composer.audio.lstm_vae.config import LstmVaeConfig  # noqa: E402
from composer.audio.lstm_vae.family import FAMILY  # noqa: E402
from composer.audio.lstm_vae.generate import synthesize  # noqa: E402
from composer.audio.transforms import Normalizer  # noqa: E402
from composer.config import load  # noqa: E402
from composer.pipeline import render_audio  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def compiled_rtf(model, config, normalizer, *, sample_rate, batch, seconds, repeats, jit_compile, lite=False):
    """(median RTF, first-call seconds incl. compilation) of ``synthesize`` for ``batch`` stems."""
    primers = np.random.default_rng(0).uniform(-0.1, 0.1, (batch, config.primer_frames * config.hop))
    primers = primers.astype(np.float32)

    def run():
        start = time.perf_counter()
        synthesize(model, config, normalizer, primers, sample_rate=sample_rate, seconds=seconds,
                   temperature=1.0, seed=0, jit_compile=jit_compile, lite=lite)
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
    step.predict([frame, rng.standard_normal((batch, model.latent_dim + model.feature_dim)).astype(np.float32)]
                 + states, verbose=0)
    start = time.perf_counter()
    for _ in range(frames):
        noise = rng.standard_normal((batch, model.latent_dim + model.feature_dim)).astype(np.float32)
        frame, *states = step.predict([frame, noise] + states, verbose=0, batch_size=batch)
    elapsed = time.perf_counter() - start
    return frames * config.hop / sample_rate * batch / elapsed


QUALITY_OVERRIDES = {"frame_size": 1024, "hop": 512, "sequence_frames": 48, "kl_warmup_steps": 200,
                     "train": {"batch_size": 16, "eval_every": 100, "eval_batches": 10, "checkpoint_every": 100,
                               "sample_every": 0}}


def quality(args: argparse.Namespace) -> None:
    """Train VAE and plain LSTM alike, generate, and print loop/copy/silence ratios side by side."""
    import yaml

    from composer.audio.lstm_vae.generate import generate
    from composer.audio_io import read_audio
    from composer.corpus.builtin import build
    from composer.measures.audio_metrics import copy_rate, loop_ratio, silence_ratio
    from composer.train.trainer import train

    work = args.work
    corpus = build("bach-chorales", "chorales", root=work / "corpora", limit=args.chorales)
    if not corpus.chunk_counts()["train"]["audio"]:
        render_audio(corpus)
    train_audio = list(corpus.audio("train"))
    print(f"corpus: {args.chorales} chorales rendered at {corpus.sample_rate} Hz, "
          f"{sum(map(len, train_audio)) / corpus.sample_rate / 60:.1f} min train audio; {args.steps} steps each")
    base = yaml.safe_load(args.config.read_text())
    base["train"].update(QUALITY_OVERRIDES["train"], steps=args.steps)
    print(f"{'model':>12} {'eval loss':>10} {'repeat-last':>12} {'loop_ratio':>11} {'copy_rate':>10} {'silence':>8}")
    for name, latent_dim in (("vae", base["latent_dim"]), ("plain-lstm", 0)):
        config = {**base, **{k: v for k, v in QUALITY_OVERRIDES.items() if k != "train"}, "latent_dim": latent_dim}
        (work / f"{name}.yaml").write_text(yaml.safe_dump(config))
        run_dir = work / "runs" / name
        metrics = (json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").is_file()
                   else train("lstm-vae", corpus=corpus, config_path=work / f"{name}.yaml", run_dir=run_dir,
                              progress=False))
        paths = generate(run_dir, out=work / "out" / f"{name}.wav", seconds=20.0, seed=1, num=4)
        audio = [read_audio(p)[0] for p in paths]
        sr = corpus.sample_rate
        ratios = [np.mean([f(a) for a in audio]) for f in (lambda a: loop_ratio(a, sample_rate=sr),
                                                           lambda a: copy_rate(a, train_audio, sample_rate=sr),
                                                           silence_ratio)]
        print(f"{name:>12} {metrics['best']['eval_loss']:>10.1f} "
              f"{metrics['baseline_eval_loss']['repeat_last_frame']:>12.1f} "
              f"{ratios[0]:>11.3f} {ratios[1]:>10.3f} {ratios[2]:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "lstm_vae" / "default.yaml")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--naive-frames", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quality", action="store_true", help="compare VAE and plain LSTM output instead")
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "bench_lstm_vae")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--chorales", type=int, default=12)
    args = parser.parse_args()
    if args.quality:
        return quality(args)

    config = load(args.config, LstmVaeConfig)
    dim = config.spec.feature_dim
    normalizer = Normalizer(np.zeros(dim, np.float32), np.full(dim, 0.01, np.float32), np.full(dim, 5.0, np.float32))
    keras.utils.set_random_seed(0)
    model = FAMILY.build_model(config, {"feature_dim": dim})
    print(f"config {args.config.name}: {config.domain} frames of {config.frame_size} (hop {config.hop}), "
          f"{config.layers}x{config.units} {config.cell}, latent {config.latent_dim}, "
          f"{model.count_params():,} weights; {os.cpu_count()} CPUs; {args.seconds:g} s per stem")
    print(f"{'rate':>6} {'batch':>5} {'LiteRT loop':>12} {'XLA loop':>10} {'graph loop':>11} {'naive predict':>14} "
          f"{'best/naive':>11} {'1st call (XLA)':>15}")
    for sample_rate in (44100, 16000):
        for batch in (1, 8):
            common = dict(sample_rate=sample_rate, batch=batch, seconds=args.seconds, repeats=args.repeats)
            lite, _ = compiled_rtf(model, config, normalizer, jit_compile=False, lite=True, **common)
            xla, first = compiled_rtf(model, config, normalizer, jit_compile=True, **common)
            graph, _ = compiled_rtf(model, config, normalizer, jit_compile=False, **common)
            naive = naive_rtf(model, config, sample_rate=sample_rate, batch=batch, frames=args.naive_frames)
            print(f"{sample_rate:>6} {batch:>5} {lite:>11.0f}x {xla:>9.0f}x {graph:>10.0f}x {naive:>13.1f}x "
                  f"{max(lite, xla) / naive:>10.0f}x {first:>14.1f}s")


if __name__ == "__main__":
    main()
