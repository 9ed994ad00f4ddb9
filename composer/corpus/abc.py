"""ABC tunebooks: splitting a file into tunes, and parsing a tune into a NoteSequence.

note_seq's ABC parser (Magenta-compatible, keeps the header fields) rejects common notation
such as rests (``z``): about two thirds of the Essen collection. A tune it rejects is parsed
again by music21's ABC reader, which reads those, and its notes are copied into a NoteSequence.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from note_seq import NoteSequence

DEFAULT_QPM = 120.0


def sections(text: str) -> tuple[list[str], list[list[str]]]:
    """(file header lines, lines of each tune): blank lines separate sections, as in note_seq."""
    blocks = [[line.strip() for line in block.splitlines() if line.strip()] for block in re.split(r"\n\s*\n", text)]
    blocks = [b for b in blocks if b]
    header = []
    if len(blocks) > 1 and not any(line.startswith("X:") for line in blocks[0]):
        header = blocks.pop(0)
    return header, blocks


def label(lines: list[str], index: int) -> str:
    """'X:<ref>' of a tune when present, else its position in the file."""
    for line in lines:
        if line.startswith("X:"):
            return "X:" + line[2:].strip()
    return f"tune{index}"


def tune_sequence(lines: list[str]) -> NoteSequence:
    """The tune (header lines included) as a NoteSequence: note_seq's parser, else music21's.

    Raises ValueError naming both parsers' complaints when neither reads the tune.
    """
    from note_seq import abc_parser

    try:
        return abc_parser.ABCTune(lines).note_sequence
    except Exception as note_seq_error:  # the ABC parser raises many types for unsupported notation
        try:
            return _music21_sequence("\n".join(lines))
        except Exception as music21_error:
            raise ValueError(f"note_seq: {note_seq_error}; music21: {music21_error}") from None


def _music21_sequence(text: str) -> NoteSequence:
    """Notes of an ABC tune read by music21 (ties merged), timed at its first tempo mark."""
    from music21 import converter, tempo
    from note_seq.protobuf import music_pb2

    score = converter.parse(text, format="abc").stripTies()
    flat = score.flatten()
    marks = list(flat.getElementsByClass(tempo.MetronomeMark))
    qpm = float(marks[0].getQuarterBPM() or DEFAULT_QPM) if marks else DEFAULT_QPM
    seconds_per_quarter = 60.0 / qpm
    sequence = music_pb2.NoteSequence()
    sequence.tempos.add(qpm=qpm)
    for note in flat.notes:
        start = float(note.offset) * seconds_per_quarter
        end = start + float(note.quarterLength) * seconds_per_quarter
        for pitch in note.pitches:
            sequence.notes.add(pitch=pitch.midi, velocity=80, start_time=start, end_time=end)
    if not sequence.notes:
        raise ValueError("no notes")
    sequence.total_time = max(note.end_time for note in sequence.notes)
    return sequence
