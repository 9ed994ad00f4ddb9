"""Chunking and the train/eval split rule (docs/interfaces.md).

An item of ``duration_s`` is cut into ``max(1, round(duration_s / chunk_s))`` chunks of
``chunk_s`` seconds, the last one running to the end (so no chunk is shorter than half a
chunk, except a whole item shorter than that). A chunk goes to eval when the hash of
(item key, chunk index), read as a number in [0, 1), is below ``eval_ratio``. An item of 3 or
more chunks whose hashes sent none to eval sends its lowest-hash chunk, so one long song has
both splits while short pieces are not forced into eval. ``split_unit="item"`` hashes the key
alone and sends all chunks of the item the same way. Only the key, the chunk index and the
corpus settings enter the rule, so re-importing never moves a chunk.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "eval")
SPLIT_UNITS = ("chunk", "item")
MIN_CHUNKS_FOR_FORCED_EVAL = 3


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


def eval_mask(key: str, count: int, *, eval_ratio: float, split_unit: str = "chunk") -> list[bool]:
    """For each of ``count`` chunks of the item with split key ``key``: True if it is in eval."""
    if split_unit == "item":
        return [unit_hash(key) < eval_ratio] * count
    hashes = [unit_hash(f"{key}:{i}") for i in range(count)]
    mask = [h < eval_ratio for h in hashes]
    if eval_ratio > 0 and count >= MIN_CHUNKS_FOR_FORCED_EVAL and not any(mask):
        mask[hashes.index(min(hashes))] = True
    return mask


def chunks_in_split(key: str, count: int, split: str, *, eval_ratio: float, split_unit: str) -> list[int]:
    """Indices of the chunks of one item that belong to ``split`` ("train" or "eval")."""
    mask = eval_mask(key, count, eval_ratio=eval_ratio, split_unit=split_unit)
    return [i for i, is_eval in enumerate(mask) if is_eval == (split == "eval")]
