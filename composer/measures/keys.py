"""Keys: parsing 'D minor', estimating a key from pitch classes, and the histogram a key control asks for.

A key is estimated as the best-correlated Krumhansl-Kessler profile of the 24 keys (Krumhansl
1990). What a key *control* asks for is a pitch-class histogram; Magenta's presets use the
scale with a doubled tonic, which says the key signature but hardly which of its two tonics
(D major or B minor) is meant. A conditioned run instead records its corpus's own key profiles
(``corpus_key_profiles``): the mean control histogram of the training passages in each mode,
rotated to one tonic. Asking for a key with that profile asks in the language the model learned.
"""

from __future__ import annotations

import re

import numpy as np

from composer.errors import ConfigError

MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MODES = ("major", "minor")
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
TONICS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
MIN_PASSAGES = 20  # fewer passages in a mode than this: its corpus profile is too thin to trust


def parse_key(key: str) -> tuple[int, str]:
    """'D minor' / 'Eb major' / 'f#' / 'Am' -> (tonic 0..11, "major" or "minor")."""
    match = re.fullmatch(r"\s*([a-gA-G])\s*([#b]?)\s*(major|minor|maj|min|m)?\s*", key)
    if not match:
        raise ConfigError(f"key '{key}' not understood (e.g. 'D minor', 'Eb major', 'F#')")
    tonic = (TONICS[match.group(1).lower()] + {"#": 1, "b": -1, "": 0}[match.group(2)]) % 12
    return tonic, "major" if (match.group(3) or "major") in ("major", "maj") else "minor"


def key_name(tonic: int, mode: str) -> str:
    return f"{NAMES[tonic % 12]} {mode}"


def key_correlation(histogram: np.ndarray, tonic: int, mode: str) -> float:
    """Pearson correlation of a pitch-class histogram [12] with the profile of (tonic, mode)."""
    profile = np.roll(MAJOR_PROFILE if mode == "major" else MINOR_PROFILE, tonic)
    if np.ptp(histogram) == 0:
        return 0.0
    return float(np.corrcoef(histogram, profile)[0, 1])


def estimate_keys(histograms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tonics [n] and mode indexes into ``MODES`` [n] of the best-correlated profile of each histogram [n, 12].

    All 24 correlations at once (one matrix product of standardized rows): a corpus has tens of
    thousands of passages. A flat histogram correlates 0 with every key and gets C major.
    """
    profiles = np.stack([np.roll(p, t) for p in (MAJOR_PROFILE, MINOR_PROFILE) for t in range(12)])  # [24, 12]
    z = np.asarray(histograms, np.float64)
    z = z - z.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    z = np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
    p = profiles - profiles.mean(axis=1, keepdims=True)
    best = np.argmax(z @ (p / np.linalg.norm(p, axis=1, keepdims=True)).T, axis=1)
    return best % 12, best // 12


def estimate_key(histogram: np.ndarray) -> tuple[int, str]:
    """The (tonic 0..11, mode) whose profile correlates best with ``histogram`` [12]."""
    tonics, modes = estimate_keys(np.asarray(histogram)[None])
    return int(tonics[0]), MODES[int(modes[0])]


def scale_histogram(tonic: int, mode: str) -> np.ndarray:
    """Magenta's key histogram: scale tones 1, tonic 2, normalized [12]."""
    histogram = np.zeros(12)
    histogram[[(tonic + degree) % 12 for degree in SCALES[mode]]] = 1.0
    histogram[tonic] = 2.0
    return histogram / histogram.sum()


def corpus_key_profiles(histograms: np.ndarray) -> dict[str, list[float]]:
    """Per mode, the mean of the histograms [n, 12] estimated in that mode, each rotated to tonic C.

    A mode with fewer than ``MIN_PASSAGES`` passages is left out (its asked keys fall back to
    ``scale_histogram``).
    """
    histograms = np.asarray(histograms, np.float64).reshape(-1, 12)
    tonics, modes = estimate_keys(histograms)
    rotated = histograms[np.arange(len(histograms))[:, None], (np.arange(12)[None, :] + tonics[:, None]) % 12]
    profiles = {}
    for index, mode in enumerate(MODES):
        if np.count_nonzero(modes == index) >= MIN_PASSAGES:
            total = rotated[modes == index].sum(axis=0)
            profiles[mode] = np.round(total / total.sum(), 5).tolist()
    return profiles


def key_histogram(key: str, profiles: dict[str, list[float]] | None = None) -> np.ndarray:
    """The pitch-class histogram [12] a key control asks for: the corpus's profile of that mode
    rotated to the tonic when the run recorded one, else ``scale_histogram``."""
    tonic, mode = parse_key(key)
    if profiles and mode in profiles:
        return np.roll(np.asarray(profiles[mode], np.float64), tonic)
    return scale_histogram(tonic, mode)
