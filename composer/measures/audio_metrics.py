"""Audio measures without pretrained networks: spectral statistics against a corpus, a
Frechet distance on MFCC statistics, and collapse checks (silence, clipping, loops, copies).

All functions take mono float audio in [-1, 1] (shape [n_samples]) first and options
keyword-only. Frames are ``N_FFT`` samples with hop ``HOP`` at the given sample rate.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from composer.errors import ComposerError
from composer.measures import distributions

N_FFT = 2048
HOP = 512
N_MELS = 64
SILENCE_DB = -60.0      # frames quieter than this (RMS, dBFS) count as silent
DB_FLOOR = -80.0       # log-mel floor (dBFS): quieter detail is leakage that shifts with frame alignment
SPECTRAL_FEATURES = ("centroid", "flatness", "rolloff", "rms", "chroma")
REFERENCE_S = 600.0     # audio per split measured against (its first clips): bounds time and memory


def _check_audio(audio: np.ndarray, name: str = "audio") -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise ComposerError(f"{name}: expected mono audio of shape [n_samples > 0], got shape {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise ComposerError(f"{name}: audio holds NaN or infinite samples")
    return audio


def _padded(audio: np.ndarray) -> np.ndarray:
    """At least one full frame, so very short clips still give a frame."""
    audio = _check_audio(audio)
    return np.pad(audio, (0, max(0, N_FFT - audio.size)))


def frame_rms_db(audio: np.ndarray) -> np.ndarray:
    """RMS level of each frame in dBFS (a full-scale sine is -3 dB). Shape [n_frames]."""
    import librosa

    rms = librosa.feature.rms(y=_padded(audio), frame_length=N_FFT, hop_length=HOP)[0]
    return 20.0 * np.log10(np.maximum(rms, 1e-5))


def log_mel(audio: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Log-mel power in absolute dB (not relative to the clip's peak). Shape [n_frames, N_MELS]."""
    import librosa

    mel = librosa.feature.melspectrogram(y=_padded(audio), sr=sample_rate, n_fft=N_FFT, hop_length=HOP,
                                         n_mels=N_MELS)
    return np.maximum(10.0 * np.log10(np.maximum(mel, 1e-10)), DB_FLOOR).T.astype(np.float32)


# ---------------------------------------------------------------- spectral statistics


def spectral_bins(sample_rate: int) -> dict[str, np.ndarray]:
    """Histogram edges of the frame-level spectral features (Hz, ratio, dBFS)."""
    nyquist = sample_rate / 2
    return {
        "centroid": np.geomspace(50.0, nyquist, 33),
        "flatness": np.geomspace(1e-5, 1.0, 26),
        "rolloff": np.geomspace(50.0, nyquist, 33),
        "rms": np.arange(-80.0, 1.0, 4.0),
    }


def spectral_histograms(audios: Sequence[np.ndarray], *, sample_rate: int) -> dict[str, np.ndarray]:
    """Distributions of a set's frame features: centroid, flatness, rolloff, RMS (histograms
    on ``spectral_bins``) and chroma (energy share per pitch class, [12])."""
    import librosa

    values: dict[str, list[np.ndarray]] = {name: [] for name in SPECTRAL_FEATURES}
    for audio in audios:
        y = _padded(audio)
        spec = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
        values["centroid"].append(librosa.feature.spectral_centroid(S=spec, sr=sample_rate)[0])
        values["flatness"].append(librosa.feature.spectral_flatness(S=spec)[0])
        values["rolloff"].append(librosa.feature.spectral_rolloff(S=spec, sr=sample_rate)[0])
        values["rms"].append(frame_rms_db(y))
        values["chroma"].append(librosa.feature.chroma_stft(S=spec ** 2, sr=sample_rate, tuning=0.0).sum(axis=1))
    bins = spectral_bins(sample_rate)
    result = {name: distributions.histogram(np.concatenate(values[name]), bins=bins[name]) for name in bins}
    result["chroma"] = distributions.normalize(np.sum(values["chroma"], axis=0))
    return result


def compare_spectra(generated: Sequence[np.ndarray], reference: Sequence[np.ndarray], *,
                    sample_rate: int) -> dict[str, dict[str, float]]:
    """Per spectral feature {"overlap", "kl"} of the generated set against the reference set."""
    gen = spectral_histograms(generated, sample_rate=sample_rate)
    ref = spectral_histograms(reference, sample_rate=sample_rate)
    return {name: distributions.compare(ref[name], gen[name]) for name in SPECTRAL_FEATURES}


def mfcc_frames(audios: Sequence[np.ndarray], *, sample_rate: int, n_mfcc: int = 20) -> np.ndarray:
    """MFCCs of every frame of a set. Shape [n_frames, n_mfcc]."""
    import librosa

    return np.concatenate([
        librosa.feature.mfcc(y=_padded(a), sr=sample_rate, n_mfcc=n_mfcc, n_fft=N_FFT, hop_length=HOP,
                             n_mels=N_MELS).T for a in audios]).astype(np.float64)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fit to two frame sets [n, d]:
    |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^1/2)."""
    if len(a) < 2 or len(b) < 2:
        raise ComposerError("a Frechet distance needs at least two frames in each set")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = _sqrtm(cov_a @ cov_b)
    value = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root)
    return float(max(value, 0.0))


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """Real part of the matrix square root; a tiny ridge keeps singular products (silence) finite."""
    import warnings

    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = linalg.sqrtm(matrix)
        if not np.all(np.isfinite(root)):
            root = linalg.sqrtm(matrix + 1e-6 * np.eye(len(matrix)))
    return np.real(root)


def spectral_frechet(generated: Sequence[np.ndarray], reference: Sequence[np.ndarray], *,
                     sample_rate: int) -> float:
    """Frechet distance on MFCC statistics of generated vs reference audio (0 for the same set)."""
    return frechet_distance(mfcc_frames(generated, sample_rate=sample_rate),
                            mfcc_frames(reference, sample_rate=sample_rate))


# ---------------------------------------------------------------- collapse checks


def silence_ratio(audio: np.ndarray, *, threshold_db: float = SILENCE_DB) -> float:
    """Share of frames whose RMS is below ``threshold_db`` dBFS."""
    return float(np.mean(frame_rms_db(audio) < threshold_db))


def clipping_ratio(audio: np.ndarray, *, threshold: float = 0.999) -> float:
    """Share of samples at or beyond ``threshold`` of full scale."""
    return float(np.mean(np.abs(_check_audio(audio)) >= threshold))


def loop_ratio(audio: np.ndarray, *, sample_rate: int, min_lag_s: float = 1.0, threshold: float = 0.9) -> float:
    """Share of sounding frames that recur: cosine similarity >= ``threshold`` with a frame at
    least ``min_lag_s`` away, on log-mel frames minus each band's mean over the clip.

    Removing the mean makes steady sounds (a held chord, stationary noise) dissimilar to
    themselves, so only repeated *changes* (a loop, a stuck pattern) count.
    """
    mel = log_mel(audio, sample_rate=sample_rate)
    sounding = frame_rms_db(audio)[: len(mel)] >= SILENCE_DB
    if sounding.sum() < 2:
        return 0.0
    frames = np.where(sounding[:, None], mel - mel[sounding].mean(axis=0), 0.0)
    unit = frames / np.maximum(np.linalg.norm(frames, axis=1, keepdims=True), 1e-6)
    min_lag = max(1, int(round(min_lag_s * sample_rate / HOP)))
    best = _best_match(unit, unit, similarity=True, min_lag=min_lag)
    return float(np.mean(best[sounding] >= threshold))


def copy_rate(audio: np.ndarray, reference: Sequence[np.ndarray], *, sample_rate: int,
              threshold_db: float = 1.0) -> float:
    """Share of sounding frames whose nearest reference frame (log-mel, RMS difference in dB over
    bands) lies within ``threshold_db``: a near-exact copy of the training audio."""
    mel = log_mel(audio, sample_rate=sample_rate)
    sounding = frame_rms_db(audio)[: len(mel)] >= SILENCE_DB
    if not sounding.any():
        return 0.0
    ref = np.concatenate([log_mel(r, sample_rate=sample_rate) for r in reference])
    nearest = _best_match(mel[sounding], ref, similarity=False)
    return float(np.mean(np.sqrt(nearest / N_MELS) <= threshold_db))


def _best_match(queries: np.ndarray, keys: np.ndarray, *, similarity: bool, min_lag: int = 0,
                block: int = 1024) -> np.ndarray:
    """Per query row, the highest dot product (``similarity``) or the lowest squared distance to
    any key row, in blocks to bound memory. With ``min_lag``, key j is skipped for query i when
    |i - j| < min_lag (queries and keys are then the same frames). Shape [n_queries]."""
    queries, keys = queries.astype(np.float32), keys.astype(np.float32)
    key_norms = (keys ** 2).sum(axis=1)
    out = np.empty(len(queries), np.float32)
    for lo in range(0, len(queries), block):
        q = queries[lo:lo + block]
        dots = q @ keys.T
        if similarity:
            scores = dots
        else:
            scores = -np.maximum((q ** 2).sum(axis=1)[:, None] + key_norms[None, :] - 2.0 * dots, 0.0)
        if min_lag:
            rows = np.arange(lo, lo + len(q))[:, None]
            scores = np.where(np.abs(rows - np.arange(len(keys))[None, :]) < min_lag, -np.inf, scores)
        out[lo:lo + block] = scores.max(axis=1) if len(keys) else -np.inf
    return out if similarity else -out


# ---------------------------------------------------------------- reference clips


def reference_clips(clips: Iterable[np.ndarray], *, sample_rate: int, seconds: float = REFERENCE_S) -> list[np.ndarray]:
    """The first clips of a split, cut to ``seconds`` in total: float32 [n_samples] each."""
    max_samples = int(seconds * sample_rate)
    taken, total = [], 0
    for clip in clips:
        if total >= max_samples:
            break
        taken.append(np.asarray(clip, dtype=np.float32)[: max_samples - total])
        total += taken[-1].size
    return taken
