"""Synthesized MIDI fixtures for the render tests: no external files."""

from __future__ import annotations

import pretty_midi
import pytest

C_MAJOR = (60, 62, 64, 65, 67, 69, 71, 72)
NOTE_S = 0.4


def scale_midi(program: int = 0, *, pitches: tuple[int, ...] = C_MAJOR) -> pretty_midi.PrettyMIDI:
    """One instrument playing ``pitches`` in sequence, NOTE_S seconds each."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=program)
    for i, pitch in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(velocity=100, pitch=pitch, start=i * NOTE_S, end=(i + 0.9) * NOTE_S))
    pm.instruments.append(inst)
    return pm


def drum_midi() -> pretty_midi.PrettyMIDI:
    """Kick, snare and hi-hat on the drum channel for two seconds."""
    pm = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    for i in range(8):
        kit.notes.append(pretty_midi.Note(110, 36 if i % 2 == 0 else 38, i * 0.25, i * 0.25 + 0.1))
        kit.notes.append(pretty_midi.Note(80, 42, i * 0.25, i * 0.25 + 0.05))
    pm.instruments.append(kit)
    return pm


@pytest.fixture
def scale() -> pretty_midi.PrettyMIDI:
    return scale_midi()


@pytest.fixture
def make_scale():
    """The scale_midi factory, for tests that need other programs or pitches."""
    return scale_midi


@pytest.fixture
def drums() -> pretty_midi.PrettyMIDI:
    return drum_midi()
