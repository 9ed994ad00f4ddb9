"""Quantizing audio to integer levels for SampleRNN's softmax output, and back.

Linear quantization splits [-1, 1] into ``levels`` equal bins; mu-law first compands with
mu = levels - 1 (ITU-T G.711 style), so quiet passages get finer steps. Dequantization
returns bin centres, so ``quantize(dequantize(q)) == q`` for every level.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from composer.errors import ConfigError, check_range

Method = Literal["linear", "mu-law"]
METHODS = ("linear", "mu-law")


def _check(levels: int, method: str) -> None:
    if method not in METHODS:
        raise ConfigError(f"quantization must be one of {', '.join(METHODS)}, got {method!r}")
    check_range("q_levels", levels, low=2, high=65536)


def mu_law_compress(audio: np.ndarray, *, mu: float) -> np.ndarray:
    """Mu-law companding of float audio in [-1, 1] (shape kept)."""
    return np.sign(audio) * np.log1p(mu * np.abs(audio)) / np.log1p(mu)


def mu_law_expand(companded: np.ndarray, *, mu: float) -> np.ndarray:
    """Inverse of ``mu_law_compress``."""
    return np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(mu)) / mu


def quantize(audio: np.ndarray, *, levels: int = 256, method: Method = "mu-law") -> np.ndarray:
    """Float audio [..., n_samples] in [-1, 1] to int32 levels in [0, levels).

    Values outside [-1, 1] are clipped first.
    """
    _check(levels, method)
    audio = np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0)
    if method == "mu-law":
        audio = mu_law_compress(audio, mu=levels - 1)
    return np.clip(np.floor((audio + 1.0) / 2.0 * levels), 0, levels - 1).astype(np.int32)


def dequantize(codes: np.ndarray, *, levels: int = 256, method: Method = "mu-law") -> np.ndarray:
    """Int levels [..., n_samples] back to float32 audio in [-1, 1] (bin centres)."""
    _check(levels, method)
    codes = np.asarray(codes)
    if codes.size and (codes.min() < 0 or codes.max() >= levels):
        raise ValueError(f"quantized codes must lie in [0, {levels}), got [{codes.min()}, {codes.max()}]")
    audio = (codes.astype(np.float64) + 0.5) * (2.0 / levels) - 1.0
    if method == "mu-law":
        audio = mu_law_expand(audio, mu=levels - 1)
    return audio.astype(np.float32)


def silence_level(*, levels: int = 256) -> int:
    """The level that silence (0.0) quantizes to, for either method."""
    return levels // 2


def histogram_entropy_bits(codes: np.ndarray, *, levels: int) -> float:
    """Entropy (bits per sample) of the empirical histogram of ``codes``.

    This is the cross-entropy a model that learned only the value distribution would
    score on the same data: the unigram baseline for bits per sample.
    """
    counts = np.bincount(np.asarray(codes).ravel(), minlength=levels).astype(np.float64)
    if counts.sum() == 0:
        raise ValueError("cannot take the entropy of an empty histogram")
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def unigram_bits_per_sample(train: Sequence[np.ndarray], eval_: Sequence[np.ndarray], *, levels: int = 256,
                            method: Method = "mu-law") -> float:
    """Held-out cross-entropy (bits per sample) of an add-one value histogram fit on ``train``:
    the score of a SampleRNN that learned only which sample values are common."""
    counts = np.ones(levels)
    for audio in train:
        counts += np.bincount(quantize(audio, levels=levels, method=method).ravel(), minlength=levels)
    log2_p = np.log2(counts / counts.sum())
    codes = np.concatenate([quantize(a, levels=levels, method=method).ravel() for a in eval_])
    return float(-log2_p[codes].mean())
