"""Shared fixtures: a small real corpus (Bach chorales) and synthesized MIDI and audio files.

``bach_corpus`` is built once per session from music21's bundled chorales (no network) in a
temporary root; tests must treat it as read-only. ``corpus_root`` is a fresh, empty root per test.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BACH_LIMIT = 24
EXIT_STATUS = pytest.StashKey[int]()
C_MAJOR = (60, 62, 64, 65, 67, 69, 71, 72)


def scale_midi(path: Path, *, pitches: tuple[int, ...] = C_MAJOR, note_s: float = 0.5, repeats: int = 1,
               velocity: int = 90, program: int = 0) -> Path:
    """Write a MIDI file of ``pitches`` played in turn ``repeats`` times, ``note_s`` seconds each.

    Velocities cycle ``velocity``, ``velocity - 20``, ... so a round trip can check them.
    """
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=program)
    for i in range(len(pitches) * repeats):
        start = i * note_s
        inst.notes.append(pretty_midi.Note(velocity=velocity - 20 * (i % 3), pitch=pitches[i % len(pitches)],
                                           start=start, end=start + 0.8 * note_s))
    pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def chirp_wav(path: Path, *, seconds: float = 1.0, sample_rate: int = 16000, channels: int = 1,
              subtype: str = "PCM_16", f0_hz: float = 220.0, f1_hz: float = 880.0, amplitude: float = 0.5) -> Path:
    """Write a linear chirp from ``f0_hz`` to ``f1_hz`` (the same in every channel)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    phase = 2 * np.pi * (f0_hz * t + (f1_hz - f0_hz) * t**2 / (2 * seconds))
    audio = amplitude * np.sin(phase)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.repeat(audio[:, None], channels, axis=1), sample_rate, subtype=subtype)
    return path


@pytest.fixture
def make_midi():
    """The ``scale_midi(path, ...)`` writer: a C-major scale as a MIDI file."""
    return scale_midi


@pytest.fixture
def make_wav():
    """The ``chirp_wav(path, ...)`` writer: a chirp at any rate, channel count and bit depth."""
    return chirp_wav


@pytest.fixture
def corpus_root(tmp_path: Path) -> Path:
    """A fresh, empty corpus root for one test."""
    root = tmp_path / "corpora"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def bach_corpus(tmp_path_factory):
    """The first 24 Bach chorales (MusicXML from music21) as corpus 'bach'; read-only, shared."""
    from composer.corpus import builtin

    return builtin.build("bach-chorales", "bach", root=tmp_path_factory.mktemp("bach_root"), limit=BACH_LIMIT)


def train_preset_text(folder: Path, yaml_text: str, corpus, *, model: str = "performance-rnn",
                      name: str = "preset.yaml") -> Path:
    """Train ``model`` on ``corpus`` from a preset given as YAML text (saved as folder/name); returns
    the run dir (folder/run)."""
    from composer.train.trainer import train

    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml_text)
    train(model, corpus=corpus, config_path=folder / name, run_dir=folder / "run", progress=False)
    return folder / "run"


@pytest.fixture(scope="session")
def train_preset():
    """The ``train_preset_text(folder, yaml_text, corpus)`` trainer, for modules that need a small run."""
    return train_preset_text


# Synthesized 'pieces' of harmonic tones in C major, as notes and as audio (the measures and evaluate tests).
PIECE_RATE = 16000
C_MAJOR_CLASSES = np.array([0, 2, 4, 5, 7, 9, 11])


def random_notes(rng, *, seconds=8.0, step_s=0.25):
    """Chord-ish note rows [n, 4] (start s, end s, pitch, velocity) in C major, no repeats."""
    rows, t = [], 0.0
    while t < seconds - step_s:
        length = step_s * rng.integers(1, 4)
        for pitch in 48 + 12 * rng.integers(0, 3, 3) + rng.choice(C_MAJOR_CLASSES, 3, replace=False):
            rows.append((t, min(t + length, seconds), pitch, rng.integers(60, 100)))
        t += length
    return np.array(rows, dtype=np.float64)


def synthesize(notes, *, seconds, sample_rate=PIECE_RATE):
    """Additive synthesis: 4 harmonics per note, 20 ms attack, exponential decay. Float32 [n_samples], peak 0.5."""
    audio = np.zeros(int(seconds * sample_rate), np.float32)
    for start, end, pitch, velocity in notes:
        a, b = int(start * sample_rate), int(end * sample_rate)
        t = np.arange(b - a) / sample_rate
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 5))
        envelope = np.minimum(t / 0.02, 1.0) * np.exp(-3.0 * t) * np.minimum((t[-1] - t) / 0.02, 1.0)
        audio[a:b] += (velocity / 127) * tone * envelope
    return (0.5 * audio / np.abs(audio).max()).astype(np.float32)


@pytest.fixture(scope="session")
def corpus_notes():
    """{"train": [4 pieces], "eval": [2 pieces], "fresh": an unseen piece}, as note rows [n, 4]."""
    rng = np.random.default_rng(7)
    pieces = [random_notes(rng) for _ in range(7)]
    return {"train": pieces[:4], "eval": pieces[4:6], "fresh": pieces[6]}


@pytest.fixture(scope="session")
def corpus_audio(corpus_notes):
    """The same pieces synthesized: 8 s float32 clips at PIECE_RATE."""
    render = lambda notes: synthesize(notes, seconds=8.0)  # noqa: E731
    return {"train": [render(n) for n in corpus_notes["train"]], "eval": [render(n) for n in corpus_notes["eval"]],
            "fresh": render(corpus_notes["fresh"])}


@pytest.fixture(scope="session")
def synth():
    """The synthesizer, for tests that make their own audio: synth(notes, seconds=...)."""
    return synthesize


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without TensorFlow's teardown once the summary is out.

    A tf.data iterator still referenced at interpreter exit can deadlock in its destructor: one
    full run printed "782 passed" and then hung for good, every tf.data thread waiting on the main
    thread and the main thread on them. Nothing is left to write by now.
    """
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(config.stash.get(EXIT_STATUS, 0))
