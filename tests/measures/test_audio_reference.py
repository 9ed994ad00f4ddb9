"""The noise-to-song ratios: noise lands at 0, the corpus's own held-out audio at 1, and a collapsed
output is flagged."""

import numpy as np
import pytest

from composer.measures import audio_reference as ar

SR = 16000  # conftest.PIECE_RATE


def test_whitened_flatness_is_flat_for_any_noise_and_low_for_music(corpus_audio):
    music = corpus_audio["fresh"]
    white = ar.noise_like(music, colour="white")
    pink = ar.noise_like(music, colour="pink")
    brown = np.cumsum(white).astype(np.float32)
    brown = 0.1 * brown / np.abs(brown).max()
    for noise in (white, pink, brown):
        assert ar.whitened_flatness([noise], sample_rate=SR) == pytest.approx(0.56, abs=0.03)
    assert ar.whitened_flatness([music], sample_rate=SR) < 0.3
    assert ar.whitened_flatness([np.zeros(SR, np.float32)], sample_rate=SR) == 0.0


def test_noise_like_matches_the_level():
    audio = (0.05 * np.sin(np.arange(2 * SR) * 0.1)).astype(np.float32)
    for colour in ("white", "pink"):
        noise = ar.noise_like(audio, colour=colour)
        assert len(noise) == len(audio)
        assert np.sqrt(np.mean(noise ** 2)) == pytest.approx(np.sqrt(np.mean(audio ** 2)), rel=1e-3)
    with pytest.raises(ValueError, match="white"):
        ar.noise_like(audio, colour="blue")


@pytest.mark.parametrize("generated, low, high", [
    ("fresh", 0.6, 1.6),          # an unseen piece of the same music: about as close as held-out audio
    ("white", -1.0, 0.1),         # noise at the generated loudness: the floor is the nearer noise,
    ("pink", -1.0, 0.1),          # so the other one lands at or below 0
])
def test_ratios_put_noise_at_0_and_held_out_music_at_1(corpus_audio, generated, low, high):
    fresh = corpus_audio["fresh"]
    audio = {"fresh": fresh, "white": ar.noise_like(fresh, colour="white", seed=9),
             "pink": ar.noise_like(fresh, colour="pink", seed=9)}[generated]
    result = ar.noise_to_song([audio], corpus_audio["train"], corpus_audio["eval"], sample_rate=SR)
    assert set(result["audio_ratios"]) == set(ar.RATIO_FIGURES)
    for name, value in result["audio_ratios"].items():
        assert low <= value <= high, (name, value, result["audio_figures"])
        if generated in result["audio_floor"][name]:
            assert value == pytest.approx(0.0, abs=0.1), name


def test_level_spread_reads_steady_noise_low_and_a_wandering_gain_high(corpus_audio):
    music = corpus_audio["fresh"]
    white = ar.noise_like(music, colour="white")
    assert ar.level_spread_db(white) < 0.5
    # the same noise under a gain that swings +-6 dB once a second
    t = np.arange(len(white)) / SR
    wandering = (white * 10 ** (6 * np.sin(2 * np.pi * t) / 20)).astype(np.float32)
    assert ar.level_spread_db(wandering) == pytest.approx(6 / np.sqrt(2), abs=0.5)
    assert ar.level_spread_db(music) > ar.level_spread_db(white)


def test_ratio_is_none_when_floor_and_ceiling_coincide():
    assert ar.ratio(0.3, floor=0.5, ceiling=0.5) is None
    assert ar.ratio(0.5, floor=0.0, ceiling=1.0) == 0.5


def test_collapsed_output_is_flagged(corpus_audio):
    rng = np.random.default_rng(1)
    music = corpus_audio["fresh"]
    # the SampleRNN collapse: a second of quiet primer, then full-scale noise
    collapsed = np.concatenate([0.05 * music[:SR], rng.uniform(-1, 1, 7 * SR)]).astype(np.float32)
    shares = ar.collapse_shares(collapsed, sample_rate=SR)
    assert shares["full_scale_share"] > 0.8 and shares["noise_flat_share"] > 0.8
    quiet_noise = (0.02 * rng.standard_normal(8 * SR)).astype(np.float32)  # the LSTM+VAE's -35 dBFS hiss
    assert ar.collapse_shares(quiet_noise, sample_rate=SR) == {"full_scale_share": 0.0, "noise_flat_share": 1.0}
    assert ar.collapse_shares(music, sample_rate=SR) == {"full_scale_share": 0.0, "noise_flat_share": 0.0}


def test_two_steady_noises_in_turn_are_noise_not_music():
    """The SampleRNN trick of session 5: a low-pass hum, then white noise 6 dB louder. Whitened by
    the whole clip's spectrum every frame looks coloured (music-like); by the local one it is flat."""
    rng = np.random.default_rng(3)
    white = rng.standard_normal(8 * SR)
    hum = np.convolve(rng.standard_normal(8 * SR), np.ones(32) / 32, mode="same")
    hum *= 0.5 * white.std() / hum.std()
    switching = (0.05 * np.concatenate([hum, white])).astype(np.float32)
    assert ar.whitened_flatness([switching], sample_rate=SR, local_s=None) < 0.4  # fooled: below NOISE_FLAT
    assert ar.whitened_flatness([switching], sample_rate=SR) > 0.45
    assert ar.collapse_shares(switching, sample_rate=SR)["noise_flat_share"] > 0.8


def test_moving_average_is_the_mean_of_the_window():
    rows = np.arange(10, dtype=float)[:, None] * np.ones((1, 2))
    means = ar.moving_average(rows, half_width=2)
    np.testing.assert_allclose(means[:, 0], [1, 1.5, 2, 3, 4, 5, 6, 7, 7.5, 8])
    np.testing.assert_allclose(means[:, 1], means[:, 0])


def test_a_flickering_drone_passes_the_flatness_but_not_the_coherence(corpus_audio):
    """A steady spectrum whose bins flicker at random frame to frame (log-normal gains, as a model
    of log magnitudes sampled hot produces) whitens as unevenly as music, but nothing in it lasts."""
    from composer.audio.transforms import FrameSpec, audio_to_features, features_to_audio

    music = corpus_audio["fresh"]
    spec = FrameSpec(1024, 512, "sqrt_hann", "fft", phase="griffin_lim")
    steady = np.abs(audio_to_features(music, spec)).mean(axis=0, keepdims=True)
    gains = np.exp(np.random.default_rng(4).standard_normal((len(music) // 512, steady.shape[1])))
    drone = features_to_audio(steady * gains, spec).astype(np.float32)
    noise = ar.noise_like(music, colour="white")
    assert ar.whitened_flatness([drone], sample_rate=SR) < 0.45  # fooled: below NOISE_FLAT, like music
    assert ar.whitened_coherence([drone], sample_rate=SR) < 0.05
    assert ar.whitened_coherence([noise], sample_rate=SR) == pytest.approx(0.0, abs=0.05)
    assert ar.whitened_coherence([music], sample_rate=SR) > 0.2
    assert ar.whitened_coherence([np.zeros(SR, np.float32)], sample_rate=SR) == 0.0
