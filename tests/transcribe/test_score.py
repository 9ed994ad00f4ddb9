"""mir_eval note scores between NoteSequences: the MIREX matching rule, by onset and with offsets."""

from __future__ import annotations

import pytest
from note_seq.protobuf import music_pb2

from composer.transcribe.score import note_scores


def sequence(notes: list[tuple[int, float, float]], *, drum: int | None = None) -> music_pb2.NoteSequence:
    out = music_pb2.NoteSequence()
    for pitch, start, end in notes:
        out.notes.add(pitch=pitch, start_time=start, end_time=end, velocity=80)
    if drum is not None:
        out.notes.add(pitch=drum, start_time=0.0, end_time=0.1, velocity=80, is_drum=True)
    return out


SCALE = [(60 + i, 0.5 * i, 0.5 * i + 0.4) for i in range(8)]


@pytest.mark.parametrize("estimate, onset_f1, offset_f1", [
    (SCALE, 1.0, 1.0),
    ([(p, s + 0.04, e + 0.04) for p, s, e in SCALE], 1.0, 1.0),  # within 50 ms
    ([(p, s + 0.06, e + 0.06) for p, s, e in SCALE], 0.0, 0.0),  # just outside
    ([(p, s, e + 0.3) for p, s, e in SCALE], 1.0, 0.0),  # right onsets, ends 75 % late
    ([(p + 1, s, e) for p, s, e in SCALE], 0.0, 0.0),  # a semitone off
    (SCALE[:4], 2 * 1.0 * 0.5 / 1.5, 2 * 1.0 * 0.5 / 1.5),  # half found: precision 1, recall 0.5
    ([], 0.0, 0.0),
])
def test_scores_follow_the_mirex_rule(estimate, onset_f1, offset_f1):
    scores = note_scores(sequence(SCALE, drum=36), sequence(estimate))
    assert scores["onset"]["f1"] == pytest.approx(onset_f1)
    assert scores["onset_offset"]["f1"] == pytest.approx(offset_f1)
    assert scores["reference_notes"] == 8 and scores["estimated_notes"] == len(estimate)  # the drum left out
