"""Tape-speed augmentation: the shifted song has the asked pitch and length."""

import numpy as np
import pytest

from composer.audio.augment import speed_factors, tape_speed

SR = 8000


def test_speed_factors_are_every_semitone_but_the_original():
    assert speed_factors(0) == []
    assert speed_factors(2) == pytest.approx([2 ** (-2 / 12), 2 ** (-1 / 12), 2 ** (1 / 12), 2 ** (2 / 12)])


@pytest.mark.parametrize("semitones", [-2, 1])
def test_tape_speed_moves_pitch_and_length_together(semitones):
    factor = 2 ** (semitones / 12)
    tone = np.sin(2 * np.pi * 440.0 * np.arange(2 * SR) / SR).astype(np.float32)
    faster = tape_speed(tone, sample_rate=SR, factor=factor)
    assert faster.dtype == np.float32 and len(faster) == pytest.approx(2 * SR / factor, abs=2)
    spectrum = np.abs(np.fft.rfft(faster * np.hanning(len(faster))))
    peak_hz = np.argmax(spectrum) * SR / len(faster)
    assert peak_hz == pytest.approx(440.0 * factor, abs=1.0)
