"""Chunking and the train/eval split rule (docs/interfaces.md).

An item of ``duration_s`` is cut into ``max(1, round(duration_s / chunk_s))`` chunks of
``chunk_s`` seconds, the last one running to the end (so no chunk is shorter than half a
chunk, except a whole item shorter than that). Which material is held out:

- items of 3 or more chunks (long songs): a chunk goes to eval when the hash of (item key,
  chunk index), read as a number in [0, 1), is below ``eval_ratio``; if the hashes sent none,
  the lowest-hash chunk goes, so one long song has both splits;
- shorter items (one or two chunks): exactly ``eval_ratio`` of the item is held out, as one
  segment at a hash-chosen place, so a 70 s song trains on 63 s and evaluates on 7 s. An item
  whose share would be under ``MIN_EVAL_S`` (a short folk tune) goes whole to one split by the
  hash of its key, which keeps a corpus of many short pieces in proportion;
- ``split_unit="item"`` hashes the key alone and sends the whole item one way.

Only the key, the duration, the chunk count and the corpus settings enter the rule, so
re-importing never moves anything.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

SPLITS = ("train", "eval")
SPLIT_UNITS = ("chunk", "item")
MIN_CHUNKS_FOR_HASHED_CHUNKS = 3
MIN_EVAL_S = 2.0      # a shorter held-out segment is too short to score; the item is split whole instead
MIN_PIECE_S = 1.0     # a train piece this short beside the held-out segment joins it instead
RULE_VERSION = 2      # enters the corpus fingerprint: caches made under another rule are stale


class Chunk(NamedTuple):
    """A stretch of one item and the split it belongs to."""

    start_s: float
    end_s: float
    split: str


def n_chunks(duration_s: float, chunk_s: float) -> int:
    """Number of chunks of an item lasting ``duration_s`` seconds."""
    return max(1, int(duration_s / chunk_s + 0.5))


def chunk_bounds(duration_s: float, chunk_s: float, count: int | None = None) -> list[tuple[float, float]]:
    """(start_s, end_s) of each of ``count`` chunks (default ``n_chunks``); the last ends at ``duration_s``.

    An audio twin passes its source's count, so its release tail joins the last chunk.
    """
    count = count or n_chunks(duration_s, chunk_s)
    return [(i * chunk_s, duration_s if i == count - 1 else (i + 1) * chunk_s) for i in range(count)]


def unit_hash(text: str) -> float:
    """sha256 of ``text`` as a number in [0, 1)."""
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_chunks(key: str, duration_s: float, *, chunk_s: float, eval_ratio: float, split_unit: str = "chunk",
                 count: int | None = None) -> list[Chunk]:
    """Every chunk of the item with split key ``key``, in time order, with its split."""
    bounds = chunk_bounds(duration_s, chunk_s, count)
    if split_unit == "item" or eval_ratio <= 0:
        return _whole(bounds, unit_hash(key) < eval_ratio)
    if len(bounds) >= MIN_CHUNKS_FOR_HASHED_CHUNKS:
        hashes = [unit_hash(f"{key}:{i}") for i in range(len(bounds))]
        held_out = [h < eval_ratio for h in hashes]
        if not any(held_out):
            held_out[hashes.index(min(hashes))] = True
        return [Chunk(start, end, "eval" if is_eval else "train") for (start, end), is_eval in zip(bounds, held_out)]
    eval_s = eval_ratio * duration_s
    if eval_s < MIN_EVAL_S or eval_ratio >= 1:
        return _whole(bounds, unit_hash(key) < eval_ratio)
    return _carve(duration_s, eval_s, unit_hash(f"{key}:eval"))


def _whole(bounds: list[tuple[float, float]], is_eval: bool) -> list[Chunk]:
    return [Chunk(start, end, "eval" if is_eval else "train") for start, end in bounds]


def _carve(duration_s: float, eval_s: float, position: float) -> list[Chunk]:
    """Train before, ``eval_s`` seconds of eval starting at ``position`` of the free range, train after."""
    start = position * (duration_s - eval_s)
    if start < MIN_PIECE_S:
        start = 0.0
    elif duration_s - (start + eval_s) < MIN_PIECE_S:
        start = duration_s - eval_s
    pieces = [Chunk(0.0, start, "train"), Chunk(start, start + eval_s, "eval"),
              Chunk(start + eval_s, duration_s, "train")]
    return [piece for piece in pieces if piece.end_s > piece.start_s]
