"""The LSTM+VAE's ``generate`` inference API: continue primers frame by frame, back to audio, to files.

``synthesize`` also writes the samples the harness asks for while training (``training_sample``),
with the weights as they are at that step.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from composer.audio import primers as primers_
from composer.audio.lstm_vae.config import LstmVaeConfig
from composer.audio.lstm_vae.features import NORMALIZATION, chunk_features
from composer.audio.output import PEAK_DB, write_generated
from composer.audio.transforms import Normalizer, features_to_audio, load_npz
from composer.errors import ConfigError
from composer.seeding import resolve_seed
from composer.train.run import load_run

# XLA makes each frame step cheaper but takes seconds to compile: worth it for long loops only.
XLA_MIN_STEPS = 10000


def generate(run_dir: str | Path, *, out: str | Path, seconds: float = 30.0, temperature: float | None = None,
             seed: int | None = None, num: int = 1, primer: str | Path | None = None,
             keep_primer: bool = False, peak_db: float = PEAK_DB) -> list[Path]:
    """Continue a primer with the trained net of ``run_dir`` and write ``num`` wav files.

    Args:
      run_dir: a run dir of an lstm-vae training (best checkpoint used).
      out: the wav path; with num > 1 the files are ``out-1.wav``, ``out-2.wav``, ...
      seconds: length of new audio per file (the primer is cut off unless ``keep_primer``).
      temperature: scale of the latent and observation noise (0: the prior mean, deterministic);
        None: the preset's ``temperature``.
      seed: makes the primer choice and the noise reproducible; None draws one.
      num: files generated in one batch, each from its own stored primer window.
      primer: an audio file to continue instead of the corpus windows stored at training.
      peak_db: each file is scaled down to peak at most this (dBFS); a collapsed one is named on stderr.
    Returns:
      The wav paths written (16-bit PCM).
    """
    from composer.audio_io import read_audio

    run = load_run(run_dir, model="lstm-vae")
    temperature = run.config.temperature if temperature is None else temperature
    sample_rate = run.meta["sample_rate"]
    seed = resolve_seed(seed)
    if primer is not None:
        primer_audio, _ = read_audio(primer, sample_rate=sample_rate)
        primers = np.repeat(primer_audio[None], num, axis=0)
    else:
        primers = primers_.choose(load_npz(Path(run_dir) / primers_.PRIMERS)["audio"], num, seed)
    audio = synthesize(run.model, run.config, Normalizer.load(Path(run_dir) / NORMALIZATION), primers,
                       sample_rate=sample_rate, seconds=seconds, temperature=temperature, seed=seed,
                       keep_primer=keep_primer, lite=True)
    return write_generated(audio, sample_rate, Path(out), peak_db=peak_db)


def training_sample(model: Any, config: LstmVaeConfig, meta: dict, *, seconds: float, seed: int) -> np.ndarray:
    """Audio [1, n_samples] continuing the first stored primer, with the weights as they are now."""
    run_dir = Path(meta["run_dir"])
    primers = load_npz(run_dir / primers_.PRIMERS)["audio"][:1]
    return synthesize(model, config, Normalizer.load(run_dir / NORMALIZATION), primers,
                      sample_rate=meta["sample_rate"], seconds=seconds, temperature=config.temperature, seed=seed)


def synthesize(model: Any, config: LstmVaeConfig, normalizer: Normalizer, primers: np.ndarray, *,
               sample_rate: int, seconds: float, temperature: float, seed: int,
               keep_primer: bool = False, jit_compile: bool | None = None, lite: bool = False) -> np.ndarray:
    """Audio [num, n_samples] continuing each primer [num, primer_samples] by ``seconds``.

    The primer's frames (minus those that overlap its zero-padded end) warm the net; the
    generated frames follow at the same hop, so overlap-add joins primer and continuation
    without a seam. The result is the raw output (``write_generated`` limits its peak). ``jit_compile``
    None uses XLA only for loops long enough to repay its seconds of compilation. ``lite`` runs the
    frame loop on LiteRT instead (faster, same frames up to rounding; ``generate`` uses it, the
    samples written during training, where the weights change each time, do not).
    """
    spec = config.spec
    if primers.shape[1] < spec.frame_size:
        raise ConfigError(f"primer must be at least one frame ({spec.frame_size} samples), got {primers.shape[1]}")
    n_primer = primers.shape[1] // spec.hop  # frames that end before the zero padding after the primer
    primed = np.stack([normalizer.apply(chunk_features(p, config, sample_rate)[:n_primer]) for p in primers])
    n_new = math.ceil(seconds * sample_rate / spec.hop) + spec.frame_size // spec.hop
    limit = 1.5 * normalizer.abs_max + 1.0
    if jit_compile is None:
        jit_compile = (n_primer + n_new) * len(primers) >= XLA_MIN_STEPS
    generated = model.generate(primed, n_new, temperature=temperature, seed=seed, limit=limit,
                               jit_compile=jit_compile, lite=lite).numpy()
    features = normalizer.invert(np.concatenate([primed, generated], axis=1))
    audio = features_to_audio(features, spec, seed=seed)
    start = 0 if keep_primer else n_primer * spec.hop  # the first sample no primer frame reaches
    audio = audio[:, start:n_primer * spec.hop + int(round(seconds * sample_rate))]
    if not keep_primer:
        fade = min(audio.shape[1], int(0.01 * sample_rate))
        audio[:, :fade] *= np.linspace(0.0, 1.0, fade, dtype=np.float32)
    return audio
