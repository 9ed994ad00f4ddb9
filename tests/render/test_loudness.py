"""Loudness, limiter and quantization helpers against pyloudnorm and their guarantees."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
import scipy.signal

from composer.render import loudness

SR = 22050


@pytest.mark.parametrize("channels", [1, 2])
def test_integrated_lufs_matches_pyloudnorm(channels: int) -> None:
    rng = np.random.default_rng(3)
    audio = rng.standard_normal((10 * SR, channels)).astype(np.float32) * 0.1
    audio[: 3 * SR] *= 0.01  # a quiet part the relative gate drops
    audio[4 * SR: 7 * SR, 0] += 0.4 * np.sin(2 * np.pi * 1000 * np.arange(3 * SR) / SR)
    expected = pyloudnorm.Meter(SR).integrated_loudness(audio.astype(np.float64))
    assert loudness.integrated_lufs(audio, SR) == pytest.approx(expected, abs=0.01)


def test_block_powers_give_the_loudness_at_any_gain() -> None:
    rng = np.random.default_rng(5)
    audio = (rng.standard_normal((6 * SR, 2)) * 0.1).astype(np.float32)
    audio[: 2 * SR] *= 0.001  # near the absolute gate, which a gain moves blocks across
    powers = loudness.block_powers(audio, SR)
    for gain in (0.01, 0.5, 4.0):
        expected = loudness.integrated_lufs(audio * np.float32(gain), SR)
        assert loudness.gated_lufs(powers * gain**2) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("seconds, channels", [(0.45, 2), (0.93, 1), (3.07, 2), (12.0, 3)])
def test_block_powers_match_a_plain_filter(seconds: float, channels: int) -> None:
    # the kernel runs each channel's second half from a warmed-up zero state: the same numbers
    rng = np.random.default_rng(7)
    audio = (rng.standard_normal((int(seconds * SR), channels)) * 0.1).astype(np.float32)
    weighted = scipy.signal.sosfilt(loudness._k_weighting(SR), audio.astype(np.float64), axis=0)
    step = int(0.1 * SR)
    energies = np.square(weighted[: len(audio) // step * step]).sum(axis=1).reshape(-1, step).sum(axis=1)
    expected = np.convolve(energies, np.ones(4), mode="valid") / (4 * step)
    assert np.allclose(loudness.block_powers(audio, SR), expected, rtol=1e-9, atol=0.0)


def test_true_peak_above_a_level_finds_the_inter_sample_peak() -> None:
    rng = np.random.default_rng(6)
    audio = (rng.standard_normal((3 * SR, 2)) * 0.05).astype(np.float32)
    n = np.arange(200)
    audio[SR:SR + 200, 1] = 0.6 * np.sin(np.pi / 2 * n + np.pi / 4)  # samples at 0.42, true peak 0.6
    full = loudness.true_peak(audio, SR)
    assert full == pytest.approx(0.6, abs=0.01)
    assert loudness.true_peak(audio, SR, above=0.4) == pytest.approx(full, abs=1e-6)


def test_silence_and_short_audio_have_no_loudness() -> None:
    assert loudness.integrated_lufs(np.zeros((SR, 2), np.float32), SR) is None
    assert loudness.integrated_lufs(np.ones((SR // 4, 2), np.float32), SR) is None
    assert loudness.peak_db(np.zeros(10)) is None


def test_limiter_never_exceeds_ceiling_and_leaves_quiet_parts() -> None:
    rng = np.random.default_rng(4)
    audio = (rng.standard_normal((4 * SR, 2)) * 0.05).astype(np.float32)
    audio[SR: SR + 50] *= 40  # a burst of loud peaks
    limited = loudness.limit(audio.copy(), SR, ceiling=0.5)
    assert np.abs(limited).max() <= 0.5
    assert loudness.true_peak(limited, SR) <= 0.5 + 1e-4
    assert np.array_equal(limited[3 * SR:], audio[3 * SR:])  # far from the burst: untouched


def test_quantize_to_16_bit_with_dither() -> None:
    quiet = np.full(SR, 0.3 / 32767, dtype=np.float32)  # a third of one step
    out = loudness.quantize_16bit(quiet)
    assert out.dtype == np.int16 and set(np.unique(out)) <= {-1, 0, 1}
    assert out.mean() == pytest.approx(0.3, abs=0.05)  # TPDF dither keeps the level on average
    loud = np.array([[1.2, -1.2], [0.5, -0.5]], dtype=np.float32)
    assert np.array_equal(loudness.quantize_16bit(loud, seed=3)[0], [32767, -32767])  # clipped symmetrically
    assert not np.array_equal(loudness.quantize_16bit(quiet, seed=1), out)  # the seed draws other noise
