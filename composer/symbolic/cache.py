"""Encode a corpus split once and keep it beside the corpus (training never re-encodes).

The cache file is keyed by the corpus fingerprint (changes when items change) and the
encoding options, so a stale cache is never read. Stored as one flat int32 array plus
offsets in an .npz, written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from composer.atomic import atomic_file
from composer.errors import CorpusError
from composer.symbolic.encoding import PerformanceEncoding

SPLITS = ("train", "eval")


def cache_path(corpus: Any, split: str, encoding: PerformanceEncoding) -> Path:
    """Where ``encoded_split`` keeps ``split`` of ``corpus`` for ``encoding``."""
    return Path(corpus.cache_dir) / f"performance-{split}-{corpus.fingerprint()[:16]}-{encoding.fingerprint()}.npz"


def encoded_split(corpus: Any, split: str, encoding: PerformanceEncoding) -> list[np.ndarray]:
    """Every symbolic chunk of ``split`` as int32 events [n_events] (empty chunks dropped)."""
    if split not in SPLITS:
        raise CorpusError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    path = cache_path(corpus, split, encoding)
    if path.is_file():
        with np.load(path) as stored:
            return [a for a in np.split(stored["events"], stored["offsets"][1:-1]) if len(a)]
    arrays = [events for events in map(encoding.encode, corpus.sequences(split)) if len(events)]
    offsets = np.cumsum([0] + [len(a) for a in arrays])
    flat = np.concatenate(arrays).astype(np.int32) if arrays else np.zeros(0, np.int32)
    _save_npz_atomic(path, events=flat, offsets=offsets)
    return arrays


def _save_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    """np.savez to a temp file in the same folder, then rename over ``path``."""
    with atomic_file(path) as handle:
        np.savez(handle, **arrays)
