"""Synthesized fixtures: 'pieces' of harmonic tones in C major, as notes and as audio."""

import numpy as np
import pytest

SAMPLE_RATE = 16000
C_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def random_notes(rng, *, seconds=8.0, step_s=0.25):
    """Chord-ish note rows [n, 4] (start s, end s, pitch, velocity) in C major, no repeats."""
    rows, t = [], 0.0
    while t < seconds - step_s:
        length = step_s * rng.integers(1, 4)
        for pitch in 48 + 12 * rng.integers(0, 3, 3) + rng.choice(C_MAJOR, 3, replace=False):
            rows.append((t, min(t + length, seconds), pitch, rng.integers(60, 100)))
        t += length
    return np.array(rows, dtype=np.float64)


def synthesize(notes, *, seconds, sample_rate=SAMPLE_RATE):
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
    """The same pieces synthesized: 8 s float32 clips at SAMPLE_RATE."""
    render = lambda notes: synthesize(notes, seconds=8.0)  # noqa: E731
    return {"train": [render(n) for n in corpus_notes["train"]], "eval": [render(n) for n in corpus_notes["eval"]],
            "fresh": render(corpus_notes["fresh"])}


@pytest.fixture(scope="session")
def synth():
    """The synthesizer, for tests that make their own audio: synth(notes, seconds=...)."""
    return synthesize
