"""Posteriors to notes with Basic Pitch's own post-processing, and notes to a NoteSequence.

``basic_pitch.note_creation.output_to_notes_polyphonic`` peak-picks onsets, follows each note's
frames until they fall below a threshold, and (its "melodia trick") adds notes for the remaining
strong frames that had no onset. Pitch bends are left out: performance events have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from composer.errors import ComposerError, check_range
from composer.transcribe import upstream
from composer.transcribe.chunks import Decoder, Event

if TYPE_CHECKING:
    from note_seq.protobuf.music_pb2 import NoteSequence

PROGRAM = 0  # Basic Pitch is instrument-agnostic; the notes go on one piano track


@dataclass(frozen=True)
class NoteOptions:
    """Basic Pitch's decoding thresholds (its defaults: 0.5, 0.3, 127.7 ms, melodia trick on)."""

    onset_threshold: float = 0.5  # an onset posterior peak at least this starts a note
    frame_threshold: float = 0.3  # a note lasts while its frame posterior stays at least this
    min_note_s: float = 0.1277  # shorter notes are dropped
    melodia_trick: bool = True  # also keep strong frames that had no onset

    def __post_init__(self) -> None:
        check_range("onset_threshold", self.onset_threshold, low=0.0, high=1.0, open_low=True, error=ComposerError)
        check_range("frame_threshold", self.frame_threshold, low=0.0, high=1.0, open_low=True, error=ComposerError)
        check_range("min_note_s", self.min_note_s, low=0.0, high=10.0, note="seconds", error=ComposerError)


def decoder(options: NoteOptions, *, frames_per_second: float) -> Decoder:
    """``decode(note, onset) -> events`` for ``chunks.Segmenter``: one segment's notes in its frames."""
    note_creation = upstream.submodule("note_creation")
    min_note_frames = int(round(options.min_note_s * frames_per_second))

    def decode(note: np.ndarray, onset: np.ndarray) -> list[Event]:
        with np.errstate(invalid="ignore", divide="ignore"):  # a silent segment rescales 0 by 0: no onsets
            found = note_creation.output_to_notes_polyphonic(
                note, onset, onset_thresh=options.onset_threshold, frame_thresh=options.frame_threshold,
                min_note_len=min_note_frames, infer_onsets=True, max_freq=None, min_freq=None,
                melodia_trick=options.melodia_trick)
        return [(int(start), int(end), int(pitch), float(amplitude)) for start, end, pitch, amplitude in found]

    return decode


def to_sequence(events: list[Event], *, n_frames: int, duration_s: float) -> NoteSequence:
    """A NoteSequence of ``events`` (frames of a piece ``n_frames`` long) lasting ``duration_s``.

    Frame indices become seconds with Basic Pitch's own ``model_frames_to_time`` (it corrects for
    the windows' overlap), amplitudes become velocities (x 127, as Basic Pitch writes MIDI).
    """
    from note_seq.protobuf import music_pb2

    note_creation = upstream.submodule("note_creation")
    times_s = note_creation.model_frames_to_time(max(n_frames, 1))
    sequence = music_pb2.NoteSequence(ticks_per_quarter=220)
    sequence.tempos.add(qpm=120.0)
    for start, end, pitch, amplitude in sorted(events):
        start_s = max(0.0, float(times_s[start]))
        end_s = min(duration_s, float(times_s[min(end, n_frames - 1)]))
        if end_s > start_s:
            sequence.notes.add(pitch=pitch, velocity=int(np.clip(round(127 * amplitude), 1, 127)), program=PROGRAM,
                               start_time=start_s, end_time=end_s)
    sequence.total_time = duration_s
    return sequence
