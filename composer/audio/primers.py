"""Primer windows cut from a corpus at training time, so ``generate`` can start inside the song.

A raw-audio model started from silence must invent its first seconds from nothing, which is
where SampleRNN's noise collapse tends to begin; warming it on the song's own audio avoids that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from composer.errors import CorpusError

PRIMERS = "primers.npz"
N_PRIMERS = 8


def pick_windows(corpus: Any, *, n_samples: int, seed: int, count: int = N_PRIMERS) -> np.ndarray:
    """Up to ``count`` windows [n, n_samples] of corpus audio, eval split first, at random offsets."""
    rng = np.random.default_rng(seed)
    windows: list[np.ndarray] = []
    for split in ("eval", "train"):
        for audio in corpus.audio(split):
            if len(windows) < count and len(audio) >= n_samples:
                start = int(rng.integers(0, len(audio) - n_samples + 1))
                windows.append(audio[start:start + n_samples])
    if not windows:
        raise CorpusError(f"corpus '{corpus.name}': no audio chunk of at least {n_samples} samples to prime generation")
    return np.stack(windows).astype(np.float32)


def choose(stored: np.ndarray, num: int, seed: int) -> np.ndarray:
    """``num`` rows of ``stored`` [n, n_samples] in a seeded order (repeating when num > n)."""
    order = np.random.default_rng(seed).permutation(max(num, len(stored)))[:num] % len(stored)
    return stored[order]
