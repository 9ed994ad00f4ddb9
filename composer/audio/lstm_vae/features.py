"""The LSTM+VAE's data: each audio chunk as normalized feature frames, the windows a batch holds,
and the trivial next-frame predictors its eval loss is read against.

Every audio chunk of a split is (optionally high-passed,) framed, transformed and normalized with
the train-split statistics (``normalization.npz`` in the run dir) into features [n_frames,
feature_dim]; a training example is a window of ``sequence_frames + 1`` consecutive frames of one
chunk.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from composer.audio import augment, framing
from composer.audio.lstm_vae.config import LstmVaeConfig
from composer.audio.transforms import Normalizer, audio_to_features
from composer.errors import CorpusError

NORMALIZATION = "normalization.npz"


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
