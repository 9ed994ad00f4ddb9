"""Where generated audio lands between noise and the song itself.

Likelihood and spectral overlaps cannot tell music from noise: noise never loops and never
copies. Each figure here is therefore measured three times, on the generated set, on white and
pink noise at the generated loudness (the floor) and on the train split (the ceiling), all
against the eval split, and reported as a ratio: 0 = as far from the corpus as noise, 1 = as
close as the song's own held-out audio.

The figures:
- whitened flatness: each frame's power spectrum divided by the clip's own average spectrum
  over the ``LOCAL_S`` seconds around it, then spectral flatness. Noise of any colour whitens
  to a flat spectrum (about 0.56, exp(-Euler's gamma) for chi-square bins); music keeps
  harmonic peaks that move. A local average, not the whole clip's: output that switches
  between two stationary noises scores like music against the whole clip's spectrum (each
  noise differs from the mix), but whitens flat against its own few seconds.
- whitened coherence: the correlation of whitened log spectra 0.13 s apart. A steady drone
  whose bins flicker at random frame to frame whitens as unevenly as a song, and so passes
  the flatness; its flicker is gone 0.13 s later, where a song's notes still sound.
- spectral Frechet distance on MFCC statistics (``audio_metrics.spectral_frechet``).
- chroma clarity: 1 - normalized entropy of each frame's pitch-class energy; noise spreads
  over all twelve classes, tonal music piles up on a few.
- loudness over time: Wasserstein distance (dB) between the distributions of frame levels
  relative to their clip's median, against the eval split's; a song breathes, noise holds one
  level (a rendered piano at fixed velocity still spreads its frames over several dB).

All audio is mono float [n_samples]; frames are ``audio_metrics.N_FFT`` / ``HOP``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from composer.measures import audio_metrics

FLOAT_EPS = 1e-12
LTAS_RANGE_DB = 80.0     # bins more than this below the loudest bin of the long-term spectrum are left out
LOCAL_S = 4.0            # seconds of the average spectrum each frame is whitened by
COHERENCE_S = 0.128      # how far apart the frames whose whitened spectra are correlated (a short note)
NOISE_FLAT = 0.45        # whitened flatness above which a frame counts as noise (noise ~0.56, music < 0.3)
FULL_SCALE_RMS_DB = -9.0  # frame RMS above which a frame counts as full scale (music peaking at 0 dBFS sits lower)
NOISE_SEED = 1234
RATIO_FIGURES = ("whitened_flatness", "whitened_coherence", "spectral_frechet", "chroma_clarity", "loudness_distance")


def _power_frames(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(power spectra [n_frames, n_bins], sounding mask [n_frames]) of one clip."""
    import librosa

    y = audio_metrics._padded(audio)
    power = np.abs(librosa.stft(y, n_fft=audio_metrics.N_FFT, hop_length=audio_metrics.HOP)).T ** 2
    sounding = audio_metrics.frame_rms_db(y)[: len(power)] >= audio_metrics.SILENCE_DB
    return power.astype(np.float64), sounding


def _whitened_frames(audio: np.ndarray, *, sample_rate: int, local_s: float | None) -> np.ndarray:
    """Sounding frames' power divided by the clip's average spectrum around them, [n_sounding, n_bins].

    The clip's own average spectrum over the ``local_s`` seconds of sounding frames around each
    frame (None: the whole clip) is its whitening filter, so the colour of a noise does not
    matter, nor a change from one steady noise to another; bins the clip barely reaches
    (``LTAS_RANGE_DB``) are left out, where the ratio of two tiny numbers would only add noise.
    """
    power, sounding = _power_frames(audio)
    power = power[sounding]
    if not len(power):
        return np.zeros((0, 1))
    ltas = power.mean(axis=0)
    power = power[:, ltas >= ltas.max() * 10 ** (-LTAS_RANGE_DB / 10)]
    if local_s is None:
        average = power.mean(axis=0, keepdims=True)
    else:
        average = moving_average(power, half_width=int(round(local_s * sample_rate / audio_metrics.HOP / 2)))
    return power / np.maximum(average, FLOAT_EPS) + FLOAT_EPS


def frame_whitened_flatness(audio: np.ndarray, *, sample_rate: int, local_s: float | None = LOCAL_S) -> np.ndarray:
    """Whitened flatness of each sounding frame of one clip (shape [n_sounding]; empty for silence)."""
    white = _whitened_frames(audio, sample_rate=sample_rate, local_s=local_s)
    return np.exp(np.mean(np.log(white), axis=1)) / np.mean(white, axis=1)


def frame_whitened_coherence(audio: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Correlation over frequency between each sounding frame's whitened log spectrum and the one
    ``COHERENCE_S`` later (shape [n_sounding - lag]; empty for a clip shorter than that).

    Whitened flatness alone is fooled by a steady drone whose bins flicker at random from frame to
    frame: the flicker lifts each frame off its local average as notes do. But notes last: what
    lifts a frame off its average still lifts the frame 0.13 s later, so their whitened spectra
    correlate (songs ~0.3-0.4); flicker and noise are new in every frame (~0).
    """
    lag = max(1, int(round(COHERENCE_S * sample_rate / audio_metrics.HOP)))
    white = np.log(_whitened_frames(audio, sample_rate=sample_rate, local_s=LOCAL_S))
    white -= white.mean(axis=1, keepdims=True)
    now, later = white[:-lag], white[lag:]
    norms = np.sqrt(np.sum(now ** 2, axis=1) * np.sum(later ** 2, axis=1))
    return np.sum(now * later, axis=1) / np.maximum(norms, FLOAT_EPS)


def moving_average(rows: np.ndarray, *, half_width: int) -> np.ndarray:
    """Mean of rows [n, d] over rows i - half_width .. i + half_width (fewer at the ends). Shape [n, d]."""
    totals = np.concatenate([np.zeros((1, rows.shape[1])), np.cumsum(rows, axis=0)])
    index = np.arange(len(rows))
    low, high = np.maximum(index - half_width, 0), np.minimum(index + half_width + 1, len(rows))
    return (totals[high] - totals[low]) / (high - low)[:, None]


def whitened_flatness(audios: Sequence[np.ndarray], *, sample_rate: int, local_s: float | None = LOCAL_S) -> float:
    """Mean whitened flatness over the sounding frames of a set (noise ~0.56, songs ~0.05-0.2)."""
    values = np.concatenate([frame_whitened_flatness(a, sample_rate=sample_rate, local_s=local_s) for a in audios])
    return float(values.mean()) if values.size else 0.0


def whitened_coherence(audios: Sequence[np.ndarray], *, sample_rate: int) -> float:
    """Mean whitened coherence over a set (noise and per-frame flicker ~0, songs ~0.3-0.4)."""
    values = np.concatenate([frame_whitened_coherence(a, sample_rate=sample_rate) for a in audios])
    return float(values.mean()) if values.size else 0.0


def chroma_clarity(audios: Sequence[np.ndarray], *, sample_rate: int) -> float:
    """Mean over sounding frames of 1 - H(chroma) / log(12): 0 for energy spread over all pitch classes."""
    import librosa

    values = []
    for audio in audios:
        power, sounding = _power_frames(audio)
        chroma = librosa.feature.chroma_stft(S=power.T, sr=sample_rate, tuning=0.0, norm=None).T[sounding]
        share = chroma / np.maximum(chroma.sum(axis=1, keepdims=True), FLOAT_EPS)
        entropy = -np.sum(share * np.log(np.maximum(share, FLOAT_EPS)), axis=1)
        values.append(1.0 - entropy / np.log(12))
    values = np.concatenate(values)
    return float(values.mean()) if values.size else 0.0


def relative_levels(audios: Sequence[np.ndarray]) -> np.ndarray:
    """Sounding frames' RMS minus their clip's median RMS (dB), over a set. Shape [n_sounding]."""
    levels = []
    for audio in audios:
        rms_db = audio_metrics.frame_rms_db(audio)
        rms_db = rms_db[rms_db >= audio_metrics.SILENCE_DB]
        if rms_db.size:
            levels.append(rms_db - np.median(rms_db))
    return np.concatenate(levels) if levels else np.zeros(1)


def level_spread_db(audio: np.ndarray) -> float:
    """How much one clip's loudness moves: the std (dB) of its sounding frames' levels.

    Read beside the eval clips' own spread: noise holds one level (well under 1 dB), a gain
    that wanders or flickers spreads wider than the song.
    """
    return float(np.std(relative_levels([audio])))


def noise_like(audio: np.ndarray, *, colour: str, seed: int = NOISE_SEED) -> np.ndarray:
    """White or pink (1/f power) noise as long as ``audio`` and at its RMS level."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(max(len(audio), audio_metrics.N_FFT))
    if colour == "pink":
        spectrum = np.fft.rfft(noise)
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        spectrum[0] = 0.0
        noise = np.fft.irfft(spectrum, n=len(noise))
    elif colour != "white":
        raise ValueError(f"colour must be 'white' or 'pink', got '{colour}'")
    rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64)))
    return (noise[: len(audio)] * rms / max(np.sqrt(np.mean(noise ** 2)), FLOAT_EPS)).astype(np.float32)


def ratio(value: float, *, floor: float, ceiling: float) -> float | None:
    """(value - floor) / (ceiling - floor): 0 at the noise floor, 1 at the ceiling; None when they coincide."""
    span = ceiling - floor
    if abs(span) < 1e-9 * max(abs(floor), abs(ceiling), 1.0):
        return None
    return float((value - floor) / span)


def figures(audios: Sequence[np.ndarray], eval_: Sequence[np.ndarray], *, sample_rate: int,
            eval_levels: np.ndarray | None = None) -> dict[str, float]:
    """The four raw figures of one set against the eval split (``eval_levels``: its cached ``relative_levels``)."""
    from scipy.stats import wasserstein_distance

    if eval_levels is None:
        eval_levels = relative_levels(eval_)
    return {"whitened_flatness": whitened_flatness(audios, sample_rate=sample_rate),
            "whitened_coherence": whitened_coherence(audios, sample_rate=sample_rate),
            "spectral_frechet": audio_metrics.spectral_frechet(audios, eval_, sample_rate=sample_rate),
            "chroma_clarity": chroma_clarity(audios, sample_rate=sample_rate),
            "loudness_distance": float(wasserstein_distance(eval_levels, relative_levels(audios)))}


def noise_to_song(generated: Sequence[np.ndarray], train: Sequence[np.ndarray], eval_: Sequence[np.ndarray], *,
                  sample_rate: int) -> dict:
    """Ratios of the generated set between the noise floor and the train-vs-eval ceiling.

    Returns {"audio_ratios": {figure: ratio}, "audio_figures": {"generated", "white_noise",
    "pink_noise", "ceiling": {figure: value}}, "audio_floor": {figure: "white_noise"|"pink_noise"}}.
    Per figure the floor is whichever noise lands nearer the eval split, so neither colour of
    noise scores above 0.
    """
    eval_levels = relative_levels(eval_)

    def measure(audios: Sequence[np.ndarray]) -> dict[str, float]:
        return figures(audios, eval_, sample_rate=sample_rate, eval_levels=eval_levels)

    values = {"generated": measure(generated),
              "white_noise": measure([noise_like(a, colour="white") for a in generated]),
              "pink_noise": measure([noise_like(a, colour="pink") for a in generated]),
              "ceiling": measure(train)}
    ratios, floors = {}, {}
    for name in RATIO_FIGURES:
        ceiling = values["ceiling"][name]
        # the noise nearer the ceiling is the harder floor
        floors[name] = min(("white_noise", "pink_noise"), key=lambda colour: abs(values[colour][name] - ceiling))
        ratios[name] = ratio(values["generated"][name], floor=values[floors[name]][name], ceiling=ceiling)
    return {"audio_ratios": ratios, "audio_figures": values, "audio_floor": floors}


def collapse_shares(audio: np.ndarray, *, sample_rate: int) -> dict[str, float]:
    """Share of frames that are full scale (RMS above ``FULL_SCALE_RMS_DB``) and that are noise-flat
    (whitened flatness above ``NOISE_FLAT``), of all frames and of sounding frames respectively."""
    rms_db = audio_metrics.frame_rms_db(audio)
    flat = frame_whitened_flatness(audio, sample_rate=sample_rate)
    return {"full_scale_share": float(np.mean(rms_db >= FULL_SCALE_RMS_DB)),
            "noise_flat_share": float(np.mean(flat >= NOISE_FLAT)) if flat.size else 0.0}
