"""How close a transcription is to the score it came from: ``mir_eval.transcription`` note matching.

A note matches when its pitch is within 50 cents and its onset within ``onset_tolerance_s`` of an
unmatched reference note (the MIREX rule); "with offsets" also needs its end within 20 % of the
reference note's length (at least 50 ms). Drum notes are left out: they have no pitch to match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from note_seq.protobuf.music_pb2 import NoteSequence

ONSET_TOLERANCE_S = 0.05


def note_scores(reference: NoteSequence, estimate: NoteSequence, *,
                onset_tolerance_s: float = ONSET_TOLERANCE_S) -> dict:
    """Precision, recall and F1 of ``estimate`` against ``reference`` (NoteSequences), by onset alone
    and by onset and offset: ``{"onset": {"precision", "recall", "f1"}, "onset_offset": {...},
    "reference_notes", "estimated_notes"}``."""
    from mir_eval.transcription import precision_recall_f1_overlap

    ref_intervals, ref_hz = _notes(reference)
    est_intervals, est_hz = _notes(estimate)
    scores: dict = {"reference_notes": len(ref_hz), "estimated_notes": len(est_hz)}
    for key, offset_ratio in (("onset", None), ("onset_offset", 0.2)):
        if len(ref_hz) and len(est_hz):
            precision, recall, f1, _ = precision_recall_f1_overlap(
                ref_intervals, ref_hz, est_intervals, est_hz, onset_tolerance=onset_tolerance_s,
                offset_ratio=offset_ratio)
        else:
            precision = recall = f1 = 0.0
        scores[key] = {"precision": float(precision), "recall": float(recall), "f1": float(f1)}
    return scores


def _notes(sequence: NoteSequence) -> tuple[np.ndarray, np.ndarray]:
    """Pitched notes of positive length as mir_eval wants them: intervals [n, 2] (s) and pitches [n] (Hz)."""
    notes = [n for n in sequence.notes if not n.is_drum and n.end_time > n.start_time]
    intervals = np.array([[n.start_time, n.end_time] for n in notes], dtype=float).reshape(-1, 2)
    hz = 440.0 * 2.0 ** ((np.array([n.pitch for n in notes], dtype=float) - 69.0) / 12.0)
    return intervals, hz
