"""Quantization for SampleRNN: round trips, error bounds, bad input, the unigram entropy."""

import numpy as np
import pytest

from composer.audio.quantize import (
    dequantize,
    histogram_entropy_bits,
    mu_law_compress,
    mu_law_expand,
    quantize,
    silence_level,
    unigram_bits_per_sample,
)
from composer.errors import ConfigError

METHODS = ["linear", "mu-law"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("levels", [256, 16, 1024])
def test_every_level_survives_dequantize_then_quantize(method, levels):
    codes = np.arange(levels)
    audio = dequantize(codes, levels=levels, method=method)
    assert audio.dtype == np.float32 and np.all(np.diff(audio) > 0) and np.abs(audio).max() < 1.0
    np.testing.assert_array_equal(quantize(audio, levels=levels, method=method), codes)


@pytest.mark.parametrize("method", METHODS)
def test_audio_round_trip_error_is_within_one_bin(method):
    audio = np.random.default_rng(0).uniform(-1, 1, 20000).astype(np.float32)
    codes = quantize(audio, levels=256, method=method)
    assert codes.dtype == np.int32 and codes.min() >= 0 and codes.max() <= 255
    error = np.abs(dequantize(codes, levels=256, method=method) - audio)
    widest_bin = 2 / 256 if method == "linear" else 1 - mu_law_expand(np.array(1 - 2 / 256), mu=255)
    assert error.max() <= (widest_bin / 2 if method == "linear" else widest_bin) + 1e-6


def test_mu_law_spends_its_levels_on_quiet_samples():
    quiet = np.linspace(-0.01, 0.01, 1001)
    linear_levels = len(np.unique(quantize(quiet, levels=256, method="linear")))
    mu_levels = len(np.unique(quantize(quiet, levels=256, method="mu-law")))
    assert linear_levels <= 4 and mu_levels > 40
    np.testing.assert_allclose(mu_law_expand(mu_law_compress(quiet, mu=255), mu=255), quiet, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_silence_and_clipping(method):
    assert quantize(np.zeros(3), levels=256, method=method).tolist() == [silence_level(levels=256)] * 3
    assert quantize(np.array([-5.0, 5.0]), levels=256, method=method).tolist() == [0, 255]


@pytest.mark.parametrize("call, error", [
    (lambda: quantize(np.zeros(3), levels=256, method="a-law"), ConfigError),
    (lambda: quantize(np.zeros(3), levels=1), ConfigError),
    (lambda: dequantize(np.array([0, 256]), levels=256), ValueError),
    (lambda: dequantize(np.array([-1]), levels=256), ValueError),
    (lambda: histogram_entropy_bits(np.array([], np.int32), levels=4), ValueError),
])
def test_bad_input_is_refused(call, error):
    with pytest.raises(error):
        call()


def test_histogram_entropy_in_bits():
    assert histogram_entropy_bits(np.array([0, 1, 2, 3] * 5), levels=256) == pytest.approx(2.0)
    assert histogram_entropy_bits(np.full(10, 7), levels=256) == pytest.approx(0.0)
    assert histogram_entropy_bits(np.array([0, 0, 0, 1]), levels=2) == pytest.approx(0.811278, abs=1e-6)


def test_unigram_bits_per_sample_learns_the_value_distribution(corpus_audio):
    bits = unigram_bits_per_sample(corpus_audio["train"], corpus_audio["eval"], levels=256)
    assert 1.0 < bits < 8.0                        # better than uniform over 256 levels
    noise = [np.random.default_rng(1).uniform(-1, 1, 50000).astype(np.float32)]
    assert unigram_bits_per_sample(noise, noise, levels=256, method="linear") == pytest.approx(8.0, abs=0.01)
