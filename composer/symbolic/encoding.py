"""Magenta's performance representation, as integer arrays.

A performance is a stream of events: NOTE_ON(pitch), NOTE_OFF(pitch), TIME_SHIFT(1..100 steps
of 10 ms) and VELOCITY(bin). Class indices are Magenta's ``PerformanceOneHotEncoding``:

    [0, 128)      note-on, pitch 0..127
    [128, 256)    note-off, pitch 0..127
    [256, 356)    time-shift, 1..100 steps (10 ms each)
    [356, 388)    velocity, bins 1..32 (absent when velocity_bins == 0: 356 classes)

Encoding is vectorized numpy (sort all note boundaries once, then expand time shifts and
velocity changes with ``np.repeat``) so a whole corpus encodes in seconds.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from note_seq import sequences_lib
from note_seq.protobuf import music_pb2

from composer.errors import check_range

STEPS_PER_SECOND = 100
MAX_SHIFT_STEPS = 100
NUM_PITCHES = 128
NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY = "note_on", "note_off", "time_shift", "velocity"
DEFAULT_VELOCITY = 100  # used when decoding an encoding without velocity events (Magenta's default)


@dataclasses.dataclass(frozen=True)
class Event:
    """One performance event; the constructor rejects values outside the event's range."""

    kind: str
    value: int

    def __post_init__(self) -> None:
        limits = {NOTE_ON: (0, 127), NOTE_OFF: (0, 127), TIME_SHIFT: (1, MAX_SHIFT_STEPS), VELOCITY: (1, 127)}
        if self.kind not in limits:
            raise ValueError(f"event kind must be one of {', '.join(limits)}, got {self.kind!r}")
        low, high = limits[self.kind]
        if not low <= self.value <= high:
            raise ValueError(f"{self.kind} value must be in {low}..{high}, got {self.value}")


@dataclasses.dataclass(frozen=True)
class PerformanceEncoding:
    """Encode NoteSequences to int32 class arrays and back.

    Args:
      velocity_bins: 32 (Magenta's default) or 0 for no velocity events.
      program: None merges every non-drum instrument; an int keeps only notes of that program.
      sustain: extend notes held by the sustain pedal (CC 64) before encoding.
    """

    velocity_bins: int = 32
    program: int | None = None
    sustain: bool = True

    def __post_init__(self) -> None:
        check_range("velocity_bins", self.velocity_bins, low=0, high=127)
        if self.program is not None:
            check_range("program", self.program, low=0, high=127, note="(a GM program) or null")

    # ------------------------------------------------------------------ class layout
    @property
    def num_classes(self) -> int:
        return 2 * NUM_PITCHES + MAX_SHIFT_STEPS + self.velocity_bins

    @property
    def shift_offset(self) -> int:
        return 2 * NUM_PITCHES

    @property
    def velocity_offset(self) -> int:
        return 2 * NUM_PITCHES + MAX_SHIFT_STEPS

    @property
    def velocity_bin_size(self) -> int:
        return math.ceil(127 / self.velocity_bins) if self.velocity_bins else 0

    def event_to_class(self, event: Event) -> int:
        """The class index of one event (Magenta's ``encode_event``)."""
        if event.kind == NOTE_ON:
            return event.value
        if event.kind == NOTE_OFF:
            return NUM_PITCHES + event.value
        if event.kind == TIME_SHIFT:
            return self.shift_offset + event.value - 1
        if not 1 <= event.value <= self.velocity_bins:
            raise ValueError(f"velocity bin must be in 1..{self.velocity_bins}, got {event.value}")
        return self.velocity_offset + event.value - 1

    def class_to_event(self, index: int) -> Event:
        """The event of one class index (Magenta's ``decode_event``)."""
        if not 0 <= index < self.num_classes:
            raise ValueError(f"class index must be in 0..{self.num_classes - 1}, got {index}")
        if index < NUM_PITCHES:
            return Event(NOTE_ON, index)
        if index < self.shift_offset:
            return Event(NOTE_OFF, index - NUM_PITCHES)
        if index < self.velocity_offset:
            return Event(TIME_SHIFT, index - self.shift_offset + 1)
        return Event(VELOCITY, index - self.velocity_offset + 1)

    def fingerprint(self) -> str:
        """A short key of the options that change the encoded arrays (for caches)."""
        return f"v{self.velocity_bins}-p{'all' if self.program is None else self.program}-s{int(self.sustain)}"

    # ------------------------------------------------------------------ notes <-> events
    def notes(self, sequence: music_pb2.NoteSequence) -> np.ndarray:
        """The notes this encoding keeps, as int64 [n, 4]: start step, end step, pitch, velocity.

        Sustain applied, drums dropped, instruments merged (or one program kept), times
        quantized to 10 ms as note_seq does (round half up; a note lasts at least one step).
        """
        if self.sustain:
            sequence = sequences_lib.apply_sustain_control_changes(sequence)
        kept = [n for n in sequence.notes
                if not n.is_drum and (self.program is None or n.program == self.program)]
        if not kept:
            return np.zeros((0, 4), np.int64)
        raw = np.array([(n.start_time, n.end_time, n.pitch, n.velocity) for n in kept])
        start = np.floor(raw[:, 0] * STEPS_PER_SECOND + 0.5).astype(np.int64)
        end = np.floor(raw[:, 1] * STEPS_PER_SECOND + 0.5).astype(np.int64)
        end = np.where(end <= start, start + 1, end)
        notes = np.stack([start, end, raw[:, 2].astype(np.int64), raw[:, 3].astype(np.int64)], axis=1)
        order = np.lexsort((notes[:, 2], raw[:, 0]))  # Magenta sorts by (start_time, pitch)
        return notes[order]

    def encode(self, sequence: music_pb2.NoteSequence) -> np.ndarray:
        """NoteSequence -> int32 [n_events] class indices (Magenta's event order)."""
        return self.encode_notes(self.notes(sequence))

    def encode_notes(self, notes: np.ndarray) -> np.ndarray:
        """Notes as int [n, 4] (start step, end step, pitch, velocity), sorted by start -> int32 events."""
        n = len(notes)
        if n == 0:
            return np.zeros(0, np.int32)
        # Every note boundary, ordered like Magenta: by (step, note index, offset after onset).
        steps = np.concatenate([notes[:, 0], notes[:, 1]])
        index = np.concatenate([np.arange(n), np.arange(n)])
        is_off = np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
        order = np.lexsort((is_off, index, steps))
        steps, index, is_off = steps[order], index[order], is_off[order]
        pitch = notes[index, 2]
        tokens = np.where(is_off, NUM_PITCHES + pitch, pitch)

        bins = (notes[index, 3] - 1) // self.velocity_bin_size + 1 if self.velocity_bins else np.zeros(2 * n, np.int64)
        # The current velocity before each boundary is the bin of the last onset before it (0 at first).
        last_onset = np.maximum.accumulate(np.where(is_off, -1, np.arange(2 * n)))
        before = np.concatenate([[-1], last_onset[:-1]])
        current = np.where(before >= 0, bins[np.maximum(before, 0)], 0)
        velocity_change = ~is_off & (bins != current) & (self.velocity_bins > 0)
        # A velocity event goes right before its note-on, at the same step.
        owner = np.repeat(np.arange(2 * n), velocity_change + 1)
        first = np.concatenate([[True], owner[1:] != owner[:-1]])
        is_velocity = first & velocity_change[owner]
        stream = np.where(is_velocity, self.velocity_offset + bins[owner] - 1, tokens[owner])
        return self.insert_time_shifts(stream, steps[owner])

    def insert_time_shifts(self, tokens: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Timeless events [n] happening at nondecreasing ``steps`` [n] -> int32 events with time shifts.

        A gap of g steps becomes g // 100 shifts of 100 then one of g % 100 (if nonzero), as Magenta.
        """
        gaps = np.diff(np.asarray(steps, np.int64), prepend=0)
        full, rest = gaps // MAX_SHIFT_STEPS, gaps % MAX_SHIFT_STEPS
        shifts_before = full + (rest > 0)
        per_event = shifts_before + 1
        starts = np.cumsum(per_event) - per_event
        out = np.empty(per_event.sum(), np.int64)
        owner = np.repeat(np.arange(len(tokens)), shifts_before)
        within = np.arange(len(owner)) - np.repeat(np.cumsum(shifts_before) - shifts_before, shifts_before)
        shift_value = np.where(within == full[owner], rest[owner], MAX_SHIFT_STEPS)  # last shift: the rest
        out[starts[owner] + within] = self.shift_offset + shift_value - 1
        out[starts + shifts_before] = tokens
        return out.astype(np.int32)

    def decode_notes(self, events: np.ndarray, *, max_note_s: float | None = None) -> np.ndarray:
        """int events -> notes int64 [n, 4] (start step, end step, pitch, velocity), Magenta's rules.

        A note-off ends the earliest open note of its pitch; unmatched note-offs and zero-length
        notes are dropped; notes still open at the end end there. ``max_note_s`` caps every
        note's length (stuck notes).
        """
        events = np.asarray(events, np.int64)
        if events.size and (events.min() < 0 or events.max() >= self.num_classes):
            raise ValueError(f"event classes must be in 0..{self.num_classes - 1}")
        is_shift = (events >= self.shift_offset) & (events < self.velocity_offset)
        shift = np.where(is_shift, events - self.shift_offset + 1, 0)
        step = np.cumsum(shift) - shift
        is_vel = events >= self.velocity_offset
        vel_source = np.maximum.accumulate(np.where(is_vel, np.arange(len(events)), -1))
        velocity = np.where(vel_source >= 0,
                            1 + (events[np.maximum(vel_source, 0)] - self.velocity_offset) * self.velocity_bin_size,
                            DEFAULT_VELOCITY)
        end_step = int(step[-1] + shift[-1]) if len(events) else 0
        open_notes: dict[int, list[tuple[int, int]]] = {}
        notes = []
        for i in np.flatnonzero(events < self.shift_offset):
            pitch = int(events[i] % NUM_PITCHES)
            if events[i] < NUM_PITCHES:
                open_notes.setdefault(pitch, []).append((int(step[i]), int(velocity[i])))
            elif open_notes.get(pitch):
                start, vel = open_notes[pitch].pop(0)
                notes.append((start, int(step[i]), pitch, vel))
        notes += [(start, end_step, pitch, vel) for pitch, held in open_notes.items() for start, vel in held]
        notes = np.array(sorted(notes), np.int64).reshape(-1, 4)
        notes = notes[notes[:, 1] > notes[:, 0]]
        if max_note_s is not None:
            notes[:, 1] = np.minimum(notes[:, 1], notes[:, 0] + int(round(max_note_s * STEPS_PER_SECOND)))
        return notes

    def decode(self, events: np.ndarray, *, max_note_s: float | None = None, program: int = 0,
               instrument: int = 0) -> music_pb2.NoteSequence:
        """int events -> NoteSequence (times in seconds, 10 ms steps)."""
        sequence = music_pb2.NoteSequence(ticks_per_quarter=220)
        for start, end, pitch, velocity in self.decode_notes(events, max_note_s=max_note_s):
            sequence.notes.add(start_time=start / STEPS_PER_SECOND, end_time=end / STEPS_PER_SECOND,
                               pitch=int(pitch), velocity=int(velocity), program=program, instrument=instrument)
        sequence.total_time = max((n.end_time for n in sequence.notes), default=0.0)
        return sequence
