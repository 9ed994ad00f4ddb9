"""MIDI for a human composer: a file any DAW plays and a grid-snapped copy (MusicXML: ``render.notation``).

Performances carry no meter, so the written file declares a tempo and a time signature (a
primer's when it has them, else one estimated from the onsets and 4/4), so a DAW's grid and
notation software line up with the music.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
from note_seq.protobuf import music_pb2

from composer.atomic import atomic_file
from composer.errors import ConfigError

DEFAULT_QPM = 120.0
PRIMER_MARKER = "end of primer"  # text event at the time new material follows the primer (plots draw it)


@dataclass(frozen=True)
class Meter:
    """What a written file declares: tempo (None: estimate it), time signature and GM program."""

    qpm: float | None = None
    time_signature: tuple[int, int] = (4, 4)
    program: int | None = None


def meter_of(sequence: music_pb2.NoteSequence) -> Meter:
    """The first tempo, time signature and pitched program a sequence (e.g. a primer) carries."""
    pitched = [n.program for n in sequence.notes if not n.is_drum]
    signature = sequence.time_signatures[0] if sequence.time_signatures else None
    return Meter(qpm=sequence.tempos[0].qpm if sequence.tempos else None,
                 time_signature=(signature.numerator, signature.denominator) if signature else (4, 4),
                 program=max(set(pitched), key=pitched.count) if pitched else None)


def check_grid(grid: int) -> int:
    """``grid`` if it is a note value a score can show (1, 2 or a multiple of 4), else ConfigError."""
    if grid <= 0 or grid % 4 and grid not in (1, 2):
        raise ConfigError(f"quantize grid must be 1, 2 or a multiple of 4 (e.g. 16 for 16ths), got {grid}")
    return grid


def estimate_qpm(sequence: music_pb2.NoteSequence) -> float:
    """Tempo in quarter notes per minute from the note onsets (pretty_midi), folded into 60..180."""
    onsets = sorted({round(n.start_time, 2) for n in sequence.notes})
    if len(onsets) < 4:
        return DEFAULT_QPM
    pm = _pretty_midi(sequence, qpm=DEFAULT_QPM, program=0)
    try:
        qpm = float(pm.estimate_tempo())
    except (ValueError, IndexError):
        return DEFAULT_QPM
    while qpm > 180:
        qpm /= 2
    while qpm < 60:
        qpm *= 2
    return qpm


def quantized(sequence: music_pb2.NoteSequence, *, grid: int, qpm: float) -> music_pb2.NoteSequence:
    """A copy with onsets and offsets snapped to 1/grid notes (grid=16: 16ths) at ``qpm``."""
    step_s = 60.0 / qpm * 4.0 / check_grid(grid)
    out = music_pb2.NoteSequence()
    out.CopyFrom(sequence)
    for note in out.notes:
        start = np.round(note.start_time / step_s)
        end = max(np.round(note.end_time / step_s), start + 1)
        note.start_time, note.end_time = start * step_s, end * step_s
    out.total_time = max((n.end_time for n in out.notes), default=0.0)
    return out


def _pretty_midi(sequence: music_pb2.NoteSequence, *, qpm: float, program: int,
                 markers: tuple[tuple[float, str], ...] = (),
                 time_signature: tuple[int, int] = (4, 4)) -> pretty_midi.PrettyMIDI:
    """One track (the stem) with tempo, time signature and program set; velocities as in ``sequence``."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(*time_signature, 0.0))
    track = pretty_midi.Instrument(program=program, name=pretty_midi.program_to_instrument_name(program))
    for note in sorted(sequence.notes, key=lambda n: (n.start_time, n.pitch)):
        track.notes.append(pretty_midi.Note(velocity=int(note.velocity), pitch=int(note.pitch),
                                            start=float(note.start_time), end=float(note.end_time)))
    pm.instruments.append(track)
    pm.text_events.extend(pretty_midi.Text(text, float(time)) for time, text in markers)
    return pm


def write_midi(sequence: music_pb2.NoteSequence, path: Path, *, program: int = 0, qpm: float | None = None,
               markers: tuple[tuple[float, str], ...] = (), time_signature: tuple[int, int] = (4, 4)) -> Path:
    """Write ``sequence`` as a one-track MIDI file atomically; ``markers``: (time_s, text) events."""
    pm = _pretty_midi(sequence, qpm=qpm or DEFAULT_QPM, program=program, markers=markers,
                      time_signature=time_signature)
    path = Path(path)
    with atomic_file(path) as handle:
        pm.write(handle)
    return path

