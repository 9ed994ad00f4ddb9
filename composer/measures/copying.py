"""Copying, measured: how much of a piece's melodic material occurs verbatim in the training split.

A piece is read as its notes in onset order (pitch order within a chord) and turned into the
sequence of pitch intervals between successive notes, so a transposed copy still counts. Two
figures per piece:
  - the share of its 8-note interval n-grams (7 intervals) found verbatim in the train split;
  - the longest run of its notes whose intervals all occur, in a row, in one train piece.
The eval split against the train split gives the same figures for fresh human music: a model
far above them is reciting its training data. Where the longest run comes from is recorded too:
a piece that repeats a section can have one statement in each split, which is no copy of
another piece.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from composer.measures.features import note_array

NGRAM_NOTES = 8


def intervals(item: Any) -> np.ndarray:
    """Pitch intervals (semitones) between successive notes of a NoteSequence or MIDI file, int8 [n_notes - 1]."""
    notes = note_array(item)                                         # (n, [start, end, pitch, velocity])
    pitches = notes[np.lexsort((notes[:, 2], notes[:, 0])), 2]
    return np.diff(pitches).astype(np.int8)


def _grams(values: np.ndarray, length: int) -> list[bytes]:
    """Every run of ``length`` consecutive values, as bytes (hashable)."""
    return [values[i:i + length].tobytes() for i in range(len(values) - length + 1)]


class TrainGrams:
    """Interval n-grams of the training split, built lazily per length (hash sets of bytes).

    ``ids``: the piece each interval array comes from (a NoteSequence's id), to say whose a run is.
    """

    def __init__(self, train: Iterable[np.ndarray], *, ids: Iterable[str] | None = None) -> None:
        train = list(train)
        pairs = [(t, i) for t, i in zip(train, [""] * len(train) if ids is None else ids) if len(t)]
        self.train = [t for t, _ in pairs]
        self.ids = [i for _, i in pairs]
        self._sets: dict[int, set[bytes]] = {}

    def grams(self, length: int) -> set[bytes]:
        if length not in self._sets:
            self._sets[length] = {gram for t in self.train for gram in _grams(t, length)}
        return self._sets[length]

    def share_found(self, piece: np.ndarray, *, notes: int = NGRAM_NOTES) -> float | None:
        """Share of the piece's ``notes``-note interval n-grams found in the train split (None: too short)."""
        grams = _grams(piece, notes - 1)
        if not grams:
            return None
        known = self.grams(notes - 1)
        return sum(gram in known for gram in grams) / len(grams)

    def longest_run(self, piece: np.ndarray) -> int:
        """Most notes in a row of the piece whose intervals occur verbatim in the train split.

        Binary search on the number of intervals k: a run of k found means every shorter one is.
        """
        low, high = 0, len(piece)          # low: a length known found, high: an upper bound
        while low < high:
            k = (low + high + 1) // 2
            if self.grams(k).isdisjoint(_grams(piece, k)):
                high = k - 1
            else:
                low = k
        return low + 1 if len(piece) else 0

    def owners(self, piece: np.ndarray, *, notes: int) -> set[str]:
        """Ids of the train pieces holding a run of ``notes`` notes of ``piece`` verbatim."""
        wanted = set(_grams(piece, notes - 1))
        return {owner for owner, train in zip(self.ids, self.train) if not wanted.isdisjoint(_grams(train, notes - 1))}


def copy_measures(pieces: Sequence[Any], grams: TrainGrams) -> dict:
    """Mean n-gram share found and longest verbatim run (mean and max, notes) of ``pieces`` (NoteSequences
    or MIDI paths) against the train split's ``grams`` (``TrainGrams(intervals(s) for s in train)``).

    ``longest_run_piece`` names the piece of the longest run; ``longest_run_same_piece`` is True when a
    train chunk of that same piece holds the run (a section the piece repeats), with ``grams`` built with ids.
    """
    seqs = [intervals(p) for p in pieces]
    shares = [s for s in (grams.share_found(q) for q in seqs) if s is not None]
    runs = [grams.longest_run(q) for q in seqs]
    result = {"ngram_share_in_train": float(np.mean(shares)) if shares else None,
              "longest_run_notes_mean": float(np.mean(runs)) if runs else None,
              "longest_run_notes_max": int(max(runs)) if runs else None, "pieces": len(seqs)}
    if runs and max(runs) > 1:
        best = int(np.argmax(runs))
        piece_id = getattr(pieces[best], "id", "")
        result["longest_run_piece"] = _piece_name(pieces[best])
        result["longest_run_same_piece"] = bool(piece_id) and piece_id in grams.owners(seqs[best], notes=runs[best])
    return result


def _piece_name(piece: Any) -> str:
    """A MIDI path's file name, or a NoteSequence's source file name (its id when it has none)."""
    if isinstance(piece, (str, Path)):
        return Path(piece).name
    return getattr(piece, "filename", "") or getattr(piece, "id", "") or "a piece"
