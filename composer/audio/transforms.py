"""Frame domains the LSTM+VAE models (FFT or DCT), their inverses, and feature normalization.

A ``FrameSpec`` fixes how audio becomes a sequence of feature vectors [n_frames, feature_dim]:

- ``fft``, phase "keep": real and imaginary parts of the real FFT of each windowed frame. The
  imaginary parts of the DC and Nyquist bins are always zero and are dropped, so
  feature_dim == frame_size and the transform is exactly invertible.
- ``fft``, phase "griffin_lim": magnitudes only (frame_size/2 + 1); the phase is recovered by
  Griffin-Lim iterations on output (not exactly invertible; calmer, smeared transients).
  ``magnitude`` "log" models log(|X| + ``LOG_FLOOR``) instead of |X|: a Gaussian error there is a
  gain, a few dB up or down in every bin, where in linear magnitudes it is an additive noise floor
  as loud in the quiet bins between partials as in the partials themselves.
  ``level_feature`` (log only) splits each frame into its level, log RMS(|X|) as one extra
  feature, and its shape, the log magnitudes relative to that level. On output the shape is
  rescaled to exactly the level, so errors sampled in 513 bins cannot move the loudness: the
  level follows its own feature, whose spread the model learns from the song's.
- ``dct``: DCT-II (orthonormal) of each windowed frame, optionally truncated to the lowest
  ``dct_keep`` coefficients, which band-limits the audio to dct_keep / frame_size * Nyquist.

``Normalizer`` holds per-feature mean and std from the train split, so every feature the model
sees has unit variance; it is saved as an npz in the run dir and inverted on output.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable

import numpy as np
import scipy.fft

from composer.atomic import atomic_file
from composer.audio import framing
from composer.errors import ConfigError, RunDirError

DOMAINS = ("fft", "dct")
PHASES = ("keep", "griffin_lim")
MAGNITUDES = ("linear", "log")
# The floor of log magnitudes, ~70 dB below a loud partial's bin (a 0.1 sine in a 2048 frame: ~65):
# what lies beneath is inaudible, and the log would spend the model's effort on it.
LOG_FLOOR = 0.01


@dataclasses.dataclass(frozen=True)
class FrameSpec:
    """How audio is cut and transformed; validated on construction."""

    frame_size: int
    hop: int
    window: str = "sqrt_hann"
    domain: str = "dct"
    phase: str = "keep"
    dct_keep: int | None = None
    magnitude: str = "linear"
    level_feature: bool = False

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ConfigError(f"unknown domain '{self.domain}' (valid: {', '.join(DOMAINS)})")
        if self.phase not in PHASES:
            raise ConfigError(f"unknown phase '{self.phase}' (valid: {', '.join(PHASES)})")
        if self.phase == "griffin_lim" and self.domain != "fft":
            raise ConfigError("phase 'griffin_lim' applies only to domain 'fft'")
        if self.magnitude not in MAGNITUDES:
            raise ConfigError(f"unknown magnitude '{self.magnitude}' (valid: {', '.join(MAGNITUDES)})")
        if self.magnitude == "log" and self.phase != "griffin_lim":
            raise ConfigError("magnitude 'log' applies only to phase 'griffin_lim'")
        if self.level_feature and self.magnitude != "log":
            raise ConfigError("level_feature applies only to magnitude 'log'")
        if self.dct_keep is not None and (self.domain != "dct" or not 0 < self.dct_keep <= self.frame_size):
            raise ConfigError(f"dct_keep must be in 1..frame_size ({self.frame_size}) with domain 'dct', "
                              f"got {self.dct_keep} with domain '{self.domain}'")
        framing.check_cola(self.window, frame_size=self.frame_size, hop=self.hop)

    @property
    def feature_dim(self) -> int:
        """Length of one frame's feature vector."""
        if self.domain == "dct":
            return self.dct_keep or self.frame_size
        if self.phase == "griffin_lim":
            return self.frame_size // 2 + 1 + self.level_feature
        return self.frame_size


def to_features(frames: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """Windowed frames [..., frame_size] -> float32 features [..., feature_dim]."""
    if spec.domain == "dct":
        coefficients = scipy.fft.dct(frames, type=2, norm="ortho", axis=-1)
        return coefficients[..., :spec.feature_dim].astype(np.float32)
    spectrum = np.fft.rfft(frames, axis=-1)
    if spec.phase == "griffin_lim":
        magnitude = np.abs(spectrum)
        if spec.magnitude == "linear":
            return magnitude.astype(np.float32)
        if not spec.level_feature:
            return np.log(magnitude + LOG_FLOOR).astype(np.float32)
        level = np.log(_rms(magnitude) + LOG_FLOOR)
        return np.concatenate([np.log(magnitude + LOG_FLOOR) - level, level], axis=-1).astype(np.float32)
    return np.concatenate([spectrum.real, spectrum.imag[..., 1:-1]], axis=-1).astype(np.float32)


def from_features(features: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """Inverse of ``to_features`` for the invertible domains: [..., feature_dim] -> [..., frame_size]."""
    if spec.phase == "griffin_lim":
        raise ConfigError("magnitude features have no frame-wise inverse; use features_to_audio (Griffin-Lim)")
    n = spec.frame_size
    if spec.domain == "dct":
        padded = np.zeros((*features.shape[:-1], n), np.float32)
        padded[..., :features.shape[-1]] = features
        return scipy.fft.idct(padded, type=2, norm="ortho", axis=-1).astype(np.float32)
    half = n // 2
    imag = np.zeros((*features.shape[:-1], half + 1), np.float32)
    imag[..., 1:-1] = features[..., half + 1:]
    return np.fft.irfft(features[..., :half + 1] + 1j * imag, n=n, axis=-1).astype(np.float32)


def audio_to_features(audio: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """Audio [n_samples] -> features [n_frames, feature_dim]."""
    return to_features(framing.frame(audio, frame_size=spec.frame_size, hop=spec.hop, window=spec.window), spec)


def features_to_audio(features: np.ndarray, spec: FrameSpec, *, n_samples: int | None = None,
                      griffin_lim_iters: int = 32, seed: int = 0) -> np.ndarray:
    """Features [..., n_frames, feature_dim] -> audio [..., n_samples] by inverse transform and overlap-add."""
    if spec.phase == "griffin_lim":
        features = magnitudes(features, spec)
        flat = features.reshape(-1, *features.shape[-2:])
        audio = [griffin_lim(m, spec, iters=griffin_lim_iters, seed=seed, n_samples=n_samples) for m in flat]
        return np.stack(audio).reshape(*features.shape[:-2], -1)
    return framing.overlap_add(from_features(features, spec), hop=spec.hop, window=spec.window, n_samples=n_samples)


def magnitudes(features: np.ndarray, spec: FrameSpec) -> np.ndarray:
    """Magnitude features [..., feature_dim] -> linear magnitudes [..., frame_size/2+1] (may dip below 0)."""
    if spec.magnitude == "linear":
        return features
    if not spec.level_feature:
        return np.exp(features) - LOG_FLOOR
    shape, level = features[..., :-1], features[..., -1:]
    magnitude = np.maximum(np.exp(shape + level) - LOG_FLOOR, 0.0)
    target = np.maximum(np.exp(level) - LOG_FLOOR, 0.0)
    return magnitude * (target / np.maximum(_rms(magnitude), 1e-12))


def _rms(magnitude: np.ndarray) -> np.ndarray:
    """Root mean square over the bins: [..., n_bins] -> [..., 1]."""
    return np.sqrt(np.mean(np.square(magnitude, dtype=np.float64), axis=-1, keepdims=True))


def griffin_lim(magnitude: np.ndarray, spec: FrameSpec, *, iters: int = 32, seed: int = 0,
                n_samples: int | None = None) -> np.ndarray:
    """Audio whose framed spectrum magnitude approaches ``magnitude`` [n_frames, frame_size/2+1].

    Griffin & Lim (1984): alternate between imposing the target magnitude and projecting onto
    consistent spectra (overlap-add, then re-frame), starting from random phase.
    """
    magnitude = np.maximum(magnitude, 0.0)  # generated magnitudes may dip below zero
    n_frames = magnitude.shape[0]
    length = n_frames * spec.hop  # samples the frames cover after the left padding
    phase = np.random.default_rng(seed).uniform(-np.pi, np.pi, magnitude.shape)
    kwargs = dict(hop=spec.hop, window=spec.window)
    for _ in range(iters):
        audio = framing.overlap_add(np.fft.irfft(magnitude * np.exp(1j * phase), n=spec.frame_size), **kwargs,
                                    n_samples=length)
        frames = framing.frame(audio, frame_size=spec.frame_size, hop=spec.hop, window=spec.window)[:n_frames]
        phase = np.angle(np.fft.rfft(frames, axis=-1))
    frames = np.fft.irfft(magnitude * np.exp(1j * phase), n=spec.frame_size).astype(np.float32)
    return framing.overlap_add(frames, **kwargs, n_samples=n_samples)


@dataclasses.dataclass(frozen=True)
class Normalizer:
    """Per-feature standardization; arrays are float32 [feature_dim]."""

    mean: np.ndarray
    std: np.ndarray
    abs_max: np.ndarray  # largest |normalized value| seen in training, per feature
    # Std of the normalized train features: 1, except bands whose std was raised to the floor.
    # The model's per-feature scale starts here; learned from 1 it takes thousands of steps to
    # reach near-silent bands, and until then their log-likelihood term swamps the loss.
    spread: np.ndarray | None = None

    @classmethod
    def fit(cls, batches: Iterable[np.ndarray]) -> "Normalizer":
        """Statistics over every row of ``batches`` ([n_frames, feature_dim] each), in float64."""
        count = 0
        total = squares = 0.0   # per-feature sums of x and x^2, [feature_dim] after the first batch
        low = high = None       # per-feature extremes
        for features in batches:
            features = np.asarray(features, np.float64)
            count += len(features)
            total = total + features.sum(axis=0)
            squares = squares + np.square(features).sum(axis=0)
            low = features.min(axis=0) if low is None else np.minimum(low, features.min(axis=0))
            high = features.max(axis=0) if high is None else np.maximum(high, features.max(axis=0))
        if count == 0:
            raise ConfigError("no frames to compute normalization statistics from")
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - np.square(mean), 0.0))
        std = np.maximum(std, 1e-4 * float(std.max()) + 1e-8)  # bands 80 dB below the loudest count as silent
        abs_max = np.maximum(np.abs(low - mean), np.abs(high - mean)) / std
        spread = np.maximum(np.sqrt(np.maximum(squares / count - np.square(mean), 0.0)) / std, 1e-6)
        return cls(mean.astype(np.float32), std.astype(np.float32), abs_max.astype(np.float32),
                   spread.astype(np.float32))

    def apply(self, features: np.ndarray) -> np.ndarray:
        """Raw features [..., feature_dim] -> normalized (zero mean, unit std per feature)."""
        return ((features - self.mean) / self.std).astype(np.float32)

    def invert(self, normalized: np.ndarray) -> np.ndarray:
        """Normalized features [..., feature_dim] -> raw features."""
        return (normalized * self.std + self.mean).astype(np.float32)

    def save(self, path: Path) -> None:
        """Write an npz atomically."""
        spread = np.ones_like(self.std) if self.spread is None else self.spread
        save_npz(path, mean=self.mean, std=self.std, abs_max=self.abs_max, spread=spread)

    @classmethod
    def load(cls, path: Path) -> "Normalizer":
        """Read what ``save`` wrote; RunDirError when missing."""
        data = load_npz(path)
        return cls(data["mean"], data["std"], data["abs_max"], data.get("spread"))  # no spread: an older run


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` atomically (temp file, then rename), so a killed run leaves no half file."""
    with atomic_file(path) as handle:
        np.savez(handle, **arrays)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an npz the run dir holds; RunDirError when it is missing."""
    if not Path(path).is_file():
        raise RunDirError(f"{path}: missing (the run dir is incomplete)")
    with np.load(path) as data:
        return dict(data)
