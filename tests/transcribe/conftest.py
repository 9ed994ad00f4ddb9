"""Recordings made here with composer's own synthesizer: a C major chord and a short melody over it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from composer.audio_io import write_audio

SAMPLE_RATE = 44100
CHORD = (60, 64, 67)  # C E G
CHORD_S = (0.5, 2.0)  # start, end


def chord_midi(pitches: tuple[int, ...] = CHORD, *, start_s: float = CHORD_S[0], end_s: float = CHORD_S[1],
               program: int = 0) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    instrument = pretty_midi.Instrument(program=program)
    instrument.notes += [pretty_midi.Note(velocity=90, pitch=p, start=start_s, end=end_s) for p in pitches]
    pm.instruments.append(instrument)
    return pm


def rendered(pm: pretty_midi.PrettyMIDI) -> np.ndarray:
    """Stereo float32 [n_samples, 2] at 44.1 kHz through composer.render (fluidsynth)."""
    from composer.render.synth import render_midi

    return render_midi(pm, sample_rate=SAMPLE_RATE)


@pytest.fixture(scope="session")
def chord_audio() -> np.ndarray:
    """C-E-G on the piano from 0.5 s to 2 s, then its release: [n_samples, 2] at 44.1 kHz."""
    return rendered(chord_midi())


@pytest.fixture
def write_wav(tmp_path):
    """Write float audio as a 16-bit wav under tmp_path: ``write_wav(name, audio, rate=44100) -> Path``."""
    def write(name: str, audio: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
        return write_audio(tmp_path / name, audio, rate, subtype="PCM_16")

    return write
