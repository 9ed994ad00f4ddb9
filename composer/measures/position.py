"""Held-out NLL by position within a window: does a model use context beyond a few bars?

A model that uses long context predicts events late in a window better than early ones (it has
seen more of the piece); an n-gram, whose context is its last few events, stays flat. Events
are binned by their index in the eval window they are predicted in (chunks longer than the
window restart at 0 in the next one), so every model and the n-gram are binned alike.

The late bands hold only the windows that are long enough to reach them: on a corpus of short
pieces they are a few long ones, whose own difficulty then dominates the band. So the number of
eval windows reaching each band is reported beside the figures, and ``change_by_band`` compares
each later band with the opening events of the same windows, which a piece's difficulty leaves out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from composer.measures.ngram import KneserNey

BANDS = ((0, 128), (128, 512), (512, 1024), (1024, 2048))


def band_label(band: tuple[int, int]) -> str:
    return f"{band[0]}-{band[1]}"


def by_band(nll: np.ndarray, positions: np.ndarray, *, bands: Sequence[tuple[int, int]] = BANDS) -> dict:
    """Mean of per-event ``nll`` [n] in each band of ``positions`` [n]: {"0-128": nats or None, ...}."""
    nll, positions = np.asarray(nll, np.float64), np.asarray(positions)
    result = {}
    for band in bands:
        inside = (positions >= band[0]) & (positions < band[1])
        result[band_label(band)] = float(nll[inside].mean()) if inside.any() else None
    return result


def change_by_band(nll: np.ndarray, positions: np.ndarray, windows: np.ndarray, *,
                   bands: Sequence[tuple[int, int]] = BANDS) -> dict:
    """Per later band, over the windows that reach it: the band's mean ``nll`` minus the mean of the same
    windows' events in the first band. {"128-512": nats or None, ...}; negative: predicted better further in.

    Args:
      nll, positions, windows: per event [n]: its NLL, its index in its eval window, and which window it is in.
    """
    nll, positions, windows = np.asarray(nll, np.float64), np.asarray(positions), np.asarray(windows)
    first = (positions >= bands[0][0]) & (positions < bands[0][1])
    result = {}
    for band in bands[1:]:
        inside = (positions >= band[0]) & (positions < band[1])
        opening = first & np.isin(windows, np.unique(windows[inside]))
        result[band_label(band)] = float(nll[inside].mean() - nll[opening].mean()) if inside.any() else None
    return result


def windows_by_band(lengths: Sequence[int], *, bands: Sequence[tuple[int, int]] = BANDS,
                    window: int = BANDS[-1][1]) -> dict:
    """How many eval windows reach each band: {"0-128": n, ...}, from the chunks' event counts.

    A chunk of ``length`` events is cut into windows of ``window``; a window reaches a band when it
    has an event to predict past the band's start.
    """
    sizes = np.concatenate([np.minimum(window, length - np.arange(0, length, window)) for length in lengths
                            if length > 0] or [np.zeros(0)])
    return {band_label(band): int(np.sum(sizes > band[0] + 1)) for band in bands}


def ngram_nll_by_position(train: Sequence[np.ndarray], eval_: Sequence[np.ndarray], *, order: int,
                          vocab_size: int, window: int = BANDS[-1][1]) -> tuple[dict, dict]:
    """The KN n-gram of ``order``'s eval NLL by band, and its ``change_by_band``, over each chunk's events after
    its first (the model's targets); event i of a chunk is at position i % ``window`` of the chunk's window
    i // ``window``."""
    model = KneserNey(order, vocab_size=vocab_size).fit(train)
    chunks = [chunk for chunk in eval_ if len(chunk) >= 2]
    nll = -model.target_log_probs(chunks)[0]
    positions = np.concatenate([np.arange(1, len(chunk)) % window for chunk in chunks])
    starts = np.cumsum([0] + [-(-len(chunk) // window) for chunk in chunks])          # first window of each chunk
    windows = np.concatenate([start + np.arange(1, len(chunk)) // window for start, chunk in zip(starts, chunks)])
    return by_band(nll, positions), change_by_band(nll, positions, windows)

