"""Key and density adherence: Krumhansl-Kessler key estimates and notes per second against the asked ones."""

from __future__ import annotations

import numpy as np
import pytest
from note_seq.protobuf import music_pb2

from composer.evaluate.adherence import (
    density_adherence,
    estimate_key,
    key_adherence,
    key_correlation,
    parse_key,
    pitch_class_seconds,
)


def _piece(pitches, *, note_s: float = 0.25, seconds: float | None = None) -> music_pb2.NoteSequence:
    sequence = music_pb2.NoteSequence()
    count = len(pitches) if seconds is None else int(seconds / note_s)
    for i in range(count):
        sequence.notes.add(pitch=int(pitches[i % len(pitches)]), velocity=80, start_time=i * note_s,
                           end_time=(i + 1) * note_s)
    return sequence


D_MINOR = (62, 65, 69, 62, 64, 65, 67, 69, 70, 61, 62, 74, 69, 65, 62)   # tonic triad weighted, C# leading tone
C_MAJOR = (60, 64, 67, 60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60)


@pytest.mark.parametrize("text, key", [("D minor", (2, "minor")), ("Eb major", (3, "major")), ("f#", (6, "major")),
                                       ("Bb min", (10, "minor"))])
def test_parse_key(text, key):
    assert parse_key(text) == key


def test_estimated_keys_and_hit_rate():
    assert estimate_key(pitch_class_seconds(_piece(D_MINOR))) == (2, "minor")
    assert estimate_key(pitch_class_seconds(_piece(C_MAJOR))) == (0, "major")
    result = key_adherence({"D minor": [_piece(D_MINOR)], "C major": [_piece(C_MAJOR), _piece(D_MINOR)]})
    assert result["key_hit_rate"] == pytest.approx(2 / 3) and result["pieces"] == 3
    assert key_correlation(pitch_class_seconds(_piece(C_MAJOR)), 0, "major") > 0.8 > result["key_correlation"]


def test_density_ratio_and_tolerance():
    pieces = {4.0: [_piece(C_MAJOR, note_s=0.25, seconds=10.0)], 2.0: [_piece(C_MAJOR, note_s=0.25, seconds=10.0)]}
    result = density_adherence(pieces, seconds=10.0)
    assert result["density_ratio"] == {"4.0": 1.0, "2.0": 2.0}
    assert result["density_within_25pct"] == 0.5
    assert np.isfinite(list(result["density_ratio"].values())).all()
