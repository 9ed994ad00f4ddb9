"""The LSTM+VAE as a model family of the shared harness, and its ``generate`` inference API.

Data: every audio chunk of a split is (optionally high-passed,) framed, transformed and
normalized with the train-split statistics into features [n_frames, feature_dim]; a training
example is a window of ``sequence_frames + 1`` consecutive frames of one chunk, and the loss
is the next-frame loss of composer.audio.lstm_vae.model in nats per frame.

Run dir files besides the harness's: ``normalization.npz`` (per-feature mean/std) and
``primers.npz`` (a few windows of corpus audio that ``generate`` warms the network on).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

import numpy as np

from composer.audio import augment, framing, listening
from composer.audio import primers as primers_
from composer.audio.output import PEAK_DB, check_generate_options, write_generated
from composer.audio.transforms import FrameSpec, Normalizer, audio_to_features, features_to_audio, load_npz, save_npz
from composer.config import TrainConfig
from composer.errors import ConfigError, CorpusError, check_range
from composer.seeding import resolve_seed
from composer.train.run import eval_loss, load_run, sample_file

NORMALIZATION = "normalization.npz"
PRIMERS = primers_.PRIMERS
# XLA makes each frame step cheaper but takes seconds to compile: worth it for long loops only.
XLA_MIN_STEPS = 10000
# The smallest starting scale of a feature: tinier ones turn the untrained decoder's first errors in
# near-silent bands into huge losses; training lowers them further where the data allows.
MIN_SCALE_INIT = 0.01
# The integer fields' bounds: what the network's shapes and the time per step allow.
BOUNDS = {"layers": (1, 3), "units": (8, 4096), "decoder_units": (8, 8192), "latent_dim": (0, 1024),
          "sequence_frames": (2, 100000), "primer_frames": (1, 100000), "kl_warmup_steps": (0, 10**9),
          "augment_semitones": (0, 12)}


@dataclasses.dataclass(frozen=True)
class LstmVaeConfig:
    """Everything that defines an LSTM+VAE run; presets in configs/lstm_vae/."""

    model: str = "lstm-vae"
    seed: int = 0
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    domain: Literal["fft", "dct"] = "dct"
    phase: Literal["keep", "griffin_lim"] = "keep"  # fft only: keep real+imag, or magnitudes + Griffin-Lim
    magnitude: Literal["linear", "log"] = "linear"  # griffin_lim only: model |X| or log |X|
    level_feature: bool = False  # log only: the frame's level as a feature of its own, apart from its shape
    frame_size: int = 2048  # samples at the corpus rate
    hop: int = 1024
    window: Literal["sqrt_hann", "hann"] = "sqrt_hann"
    highpass_hz: float | None = None
    dct_keep: int | None = None  # dct only: keep the lowest K coefficients
    cell: Literal["lstm", "gru"] = "lstm"
    layers: int = 2
    units: int = 256
    latent_dim: int = 32  # 0: the deterministic plain-LSTM baseline
    decoder_units: int = 256
    beta: float = 1.0
    kl_warmup_steps: int = 500
    augment_semitones: int = 0  # train also on the song played 1..K semitones faster and slower
    sequence_frames: int = 64
    primer_frames: int = 16
    sample_seconds: float = 4.0
    temperature: float = 1.0  # generate's default scale of the latent and observation noise (and of samples)
    listen_seconds: float = 4.0  # sample scored against noise and the song at each evaluation; 0: none
    best_by: listening.BestBy = "eval_loss"  # or "audio_ratio"/"audio_min": the best-sounding checkpoint

    def __post_init__(self) -> None:
        if self.model != "lstm-vae":
            raise ConfigError(f"model must be 'lstm-vae', got '{self.model}'")
        for name, (low, high) in BOUNDS.items():
            check_range(name, getattr(self, name), low=low, high=high)
        for name in ("beta", "listen_seconds", "temperature"):
            check_range(name, getattr(self, name), low=0)
        check_range("sample_seconds", self.sample_seconds, low=0, open_low=True)
        if self.best_by != "eval_loss" and not self.listen_seconds:
            raise ConfigError(f"best_by '{self.best_by}' needs listen_seconds > 0")
        if self.highpass_hz is not None:
            check_range("highpass_hz", self.highpass_hz, low=0, open_low=True, note="or null")
        self.spec  # validates

    @property
    def spec(self) -> FrameSpec:
        """The framing and transform this config describes."""
        return FrameSpec(self.frame_size, self.hop, self.window, self.domain, self.phase, self.dct_keep,
                         self.magnitude, self.level_feature)


def chunk_features(audio: np.ndarray, config: LstmVaeConfig, sample_rate: int) -> np.ndarray:
    """Raw (unnormalized) features [n_frames, feature_dim] of one audio chunk [n_samples]."""
    if config.highpass_hz is not None:
        audio = framing.highpass(audio, sample_rate=sample_rate, cutoff_hz=config.highpass_hz)
    return audio_to_features(audio, config.spec)


def split_features(corpus: Any, config: LstmVaeConfig, split: str, *, augmented: bool = False) -> Iterator[np.ndarray]:
    """Raw features of each audio chunk of ``split``; ``augmented`` adds its tape-speed versions."""
    factors = augment.speed_factors(config.augment_semitones) if augmented else []
    for audio in corpus.audio(split):
        yield chunk_features(audio, config, corpus.sample_rate)
        for factor in factors:
            yield chunk_features(augment.tape_speed(audio, sample_rate=corpus.sample_rate, factor=factor),
                                 config, corpus.sample_rate)


def window_starts(lengths: Iterable[int], window: int, *, stride: int) -> np.ndarray:
    """Start rows (in the concatenation of chunks of ``lengths`` frames) of windows inside one chunk."""
    starts, offset = [], 0
    for length in lengths:
        starts.append(offset + np.arange(0, length - window + 1, stride))
        offset += length
    return np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64)


def normalized_split(corpus: Any, config: LstmVaeConfig, normalizer: Normalizer, split: str,
                     *, training: bool) -> tuple[np.ndarray, np.ndarray]:
    """(features [total_frames, feature_dim], window starts) of ``split``.

    Training windows start at every frame, over the augmented split. Evaluation windows do not
    overlap and, past ``eval_batches * batch_size`` of them, are thinned evenly over the split, so the harness's
    eval loss and the baselines in meta.json score exactly the same windows.
    """
    chunks = [normalizer.apply(f) for f in split_features(corpus, config, split, augmented=training)]
    window = config.sequence_frames + 1
    starts = window_starts([len(c) for c in chunks], window, stride=1 if training else config.sequence_frames)
    most = config.train.eval_batches * config.train.batch_size
    if not training and len(starts) > most:
        starts = starts[np.linspace(0, len(starts) - 1, most).round().astype(np.int64)]
    if len(starts) == 0:
        raise CorpusError(f"corpus '{corpus.name}': no {split} audio chunk is long enough for sequence_frames="
                          f"{config.sequence_frames} ({window * config.hop / corpus.sample_rate:.1f} s); "
                          "import more audio or lower sequence_frames")
    return np.concatenate(chunks), starts


def predictor_errors(features: np.ndarray, starts: np.ndarray, window: int) -> dict[str, np.ndarray]:
    """Errors [n_windows, window - 1, feature_dim] of two trivial next-frame predictors."""
    frames = features[starts[:, None] + np.arange(window)[None, :]].astype(np.float64)
    targets = frames[:, 1:]
    return {"repeat_last_frame": targets - frames[:, :-1], "mean_frame": targets}


def baseline_losses(train: dict[str, np.ndarray], eval_: dict[str, np.ndarray]) -> dict[str, float]:
    """Eval loss of each trivial predictor in the model's units (``predictor_errors`` of each split).

    Like the model, each predictor gets a Gaussian with one scale per feature, fitted on the
    train split (the RMS of its train errors): sum_f [err_f^2 / (2 s_f^2) + log s_f] nats per frame.
    """
    losses = {}
    for name, errors in eval_.items():
        variance = np.maximum(np.mean(np.square(train[name]), axis=(0, 1)), 1e-12)
        eval_mse = np.mean(np.square(errors), axis=(0, 1))
        losses[name] = float(np.sum(0.5 * eval_mse / variance + 0.5 * np.log(variance)))
    return losses


def pick_primers(corpus: Any, config: LstmVaeConfig, seed: int) -> np.ndarray:
    """Up to N_PRIMERS windows of primer audio [n, primer_samples] (composer.audio.primers)."""
    return primers_.pick_windows(corpus, n_samples=max(config.primer_frames * config.hop, config.frame_size),
                                 seed=seed)


class LstmVaeFamily:
    """The ModelFamily of composer.train.family for the LSTM+VAE."""

    name = "lstm-vae"
    config_class = LstmVaeConfig
    output = "audio"

    def prepare(self, corpus: Any, config: LstmVaeConfig, run_dir: Path) -> dict:
        """Normalization statistics (train split), primer windows and eval baselines."""
        counts = corpus.chunk_counts()
        if not counts["train"]["audio"]:
            raise CorpusError(f"corpus '{corpus.name}' has no audio in its train split; add audio files or run "
                              f"`composer corpus render-audio {corpus.name}`")
        normalizer = Normalizer.fit(split_features(corpus, config, "train"))
        normalizer.save(Path(run_dir) / NORMALIZATION)
        primers = pick_primers(corpus, config, config.seed)
        save_npz(Path(run_dir) / PRIMERS, audio=primers)
        listening.save_references(corpus, run_dir)
        split = "eval" if counts["eval"]["audio"] else "train"
        window = config.sequence_frames + 1
        errors = {s: predictor_errors(*normalized_split(corpus, config, normalizer, s, training=False), window)
                  for s in {"train", split}}
        return {"sample_rate": int(corpus.sample_rate), "feature_dim": config.spec.feature_dim,
                "frames_per_second": corpus.sample_rate / config.hop, "eval_split": split,
                "baseline_eval_loss": baseline_losses(errors["train"], errors[split]),
                "run_dir": str(Path(run_dir).resolve())}

    def build_model(self, config: LstmVaeConfig, meta: dict) -> Any:
        """The LstmVae with its variables created."""
        import tensorflow as tf

        from composer.audio.lstm_vae.model import LstmVae

        spread = Normalizer.load(Path(meta["run_dir"]) / NORMALIZATION).spread if "run_dir" in meta else None
        model = LstmVae(feature_dim=meta["feature_dim"], cell=config.cell, layers=config.layers,
                        units=config.units, latent_dim=config.latent_dim, decoder_units=config.decoder_units,
                        beta=config.beta, kl_warmup_steps=config.kl_warmup_steps,
                        log_scale_init=None if spread is None else np.log(np.maximum(spread, MIN_SCALE_INIT)))
        model(tf.zeros([1, 2, meta["feature_dim"]]))
        return model

    def make_dataset(self, corpus: Any, config: LstmVaeConfig, meta: dict, *, split: str, training: bool) -> Any:
        """Batches of windows [batch, sequence_frames + 1, feature_dim] from in-memory features."""
        import tensorflow as tf

        normalizer = Normalizer.load(Path(meta["run_dir"]) / NORMALIZATION)
        if split == "eval":
            split = meta.get("eval_split", "eval")
        features, starts = normalized_split(corpus, config, normalizer, split, training=training)
        table = tf.constant(features)
        size = [config.sequence_frames + 1, features.shape[1]]
        dataset = tf.data.Dataset.from_tensor_slices(starts)
        if training:
            dataset = dataset.shuffle(min(len(starts), 65536), seed=config.seed).repeat()
        dataset = dataset.map(lambda s: tf.slice(table, tf.stack([s, 0]), size), num_parallel_calls=2,
                              deterministic=True)
        return dataset.batch(config.train.batch_size, drop_remainder=training).prefetch(2)

    def compute_loss(self, model: Any, batch: Any, *, training: bool) -> Any:
        """Mean over frames of reconstruction + KL weight * KL; training steps advance the warm-up."""
        import tensorflow as tf

        reconstruction, kl = model.frame_losses(batch, training=training)
        if not training:
            return tf.reduce_mean(reconstruction + model.beta * kl)
        loss = tf.reduce_mean(reconstruction + model.kl_weight() * kl)
        model.step.assign_add(1)
        return loss

    def summarize(self, eval_loss: float, meta: dict) -> dict:
        """eval_loss next to the trivial predictors' losses in the same units."""
        return {"eval_loss": eval_loss, "baseline_eval_loss": meta["baseline_eval_loss"]}

    def write_sample(self, model: Any, config: LstmVaeConfig, meta: dict, out_dir: Path, *, step: int) -> list[Path]:
        """A ``sample_seconds`` wav primed on the first stored primer."""
        audio = _training_sample(model, config, meta, seconds=config.sample_seconds, seed=step)
        return write_generated(audio, meta["sample_rate"], sample_file(out_dir, step, ".wav"), warn=False)

    def listen(self, model: Any, config: LstmVaeConfig, meta: dict, *, step: int,
               eval_loss: float) -> dict[str, float]:
        """Noise-to-song ratios of a ``listen_seconds`` sample (composer.audio.listening)."""
        run_dir = Path(meta["run_dir"])
        if not config.listen_seconds or not (run_dir / listening.REFERENCES).is_file():  # a run from before listening
            return {}
        audio = _training_sample(model, config, meta, seconds=config.listen_seconds, seed=step)
        ratios = listening.sample_ratios(audio, run_dir, sample_rate=meta["sample_rate"])
        beats = eval_loss < min(meta["baseline_eval_loss"].values())
        return listening.with_selection(ratios, config.best_by, beats_baselines=beats)

    def heldout_likelihood(self, run: Any, corpus: Any) -> dict:
        """Eval loss (nats per frame) beside the trivial predictors' losses that ``prepare`` scored on
        the same eval windows (repeat the last frame, the mean frame)."""
        return {"eval_loss": eval_loss(run, corpus), "baseline_eval_loss": run.meta["baseline_eval_loss"]}

    def generate(self, run_dir: Path, *, out: Path, seconds: float = 30.0, temperature: float | None = None,
                 seed: int | None = None, num: int = 1, primer: Path | None = None,
                 keep_primer: bool = False, peak_db: float = PEAK_DB) -> list[Path]:
        """Write ``num`` wavs of ``seconds`` of new audio at the corpus rate; see ``generate``."""
        return generate(run_dir, out=out, seconds=seconds, temperature=temperature, seed=seed, num=num,
                        primer=primer, keep_primer=keep_primer, peak_db=peak_db)


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
    check_generate_options(seconds=seconds, num=num, temperature=temperature)
    sample_rate = run.meta["sample_rate"]
    seed = resolve_seed(seed)
    if primer is not None:
        primer_audio, _ = read_audio(primer, sample_rate=sample_rate)
        primers = np.repeat(primer_audio[None], num, axis=0)
    else:
        primers = primers_.choose(load_npz(Path(run_dir) / PRIMERS)["audio"], num, seed)
    audio = synthesize(run.model, run.config, Normalizer.load(Path(run_dir) / NORMALIZATION), primers,
                       sample_rate=sample_rate, seconds=seconds, temperature=temperature, seed=seed,
                       keep_primer=keep_primer, lite=True)
    return write_generated(audio, sample_rate, Path(out), peak_db=peak_db)


def _training_sample(model: Any, config: LstmVaeConfig, meta: dict, *, seconds: float, seed: int) -> np.ndarray:
    """Audio [1, n_samples] continuing the first stored primer, with the weights as they are now."""
    run_dir = Path(meta["run_dir"])
    primers = load_npz(run_dir / PRIMERS)["audio"][:1]
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


FAMILY = LstmVaeFamily()
