"""A corpus read at another sample rate, so a raw-audio preset can fix its own rate.

A sample-level model's cost per second of audio grows with the rate; a CPU preset trained on a
44.1 kHz corpus would spend its budget on bands it cannot learn in time.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import soxr


class Resampled:
    """``corpus`` (anything with ``name``, ``sample_rate`` and ``audio(split)``) read at ``sample_rate`` Hz."""

    def __init__(self, corpus: Any, *, sample_rate: int) -> None:
        self.corpus, self.sample_rate = corpus, int(sample_rate)

    @property
    def name(self) -> str:
        return self.corpus.name

    def audio(self, split: str) -> Iterator[np.ndarray]:
        """Each audio chunk of ``split``: float32 [n_samples] at this view's rate (soxr high quality)."""
        for chunk in self.corpus.audio(split):
            yield soxr.resample(chunk, self.corpus.sample_rate, self.sample_rate, quality="HQ").astype(np.float32)


def at_rate(corpus: Any, sample_rate: int | None) -> Any:
    """The corpus itself when ``sample_rate`` is None or already its rate, else a ``Resampled`` view."""
    if sample_rate is None or sample_rate == corpus.sample_rate:
        return corpus
    return Resampled(corpus, sample_rate=sample_rate)
