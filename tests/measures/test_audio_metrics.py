"""Audio measures flag what they claim: noise, silence, clipping, loops, copies, pitch shifts."""

import librosa
import numpy as np
import pytest

from composer.errors import ComposerError
from composer.measures import audio_metrics as am

SR = 16000  # conftest.PIECE_RATE


@pytest.fixture(scope="module")
def cases(corpus_audio):
    rng = np.random.default_rng(0)
    excerpt = corpus_audio["train"][1][SR + 123: 3 * SR + 123]      # 2 s, off the frame grid
    return {
        "noise": (0.2 * rng.standard_normal(6 * SR)).astype(np.float32),
        "silence": np.zeros(6 * SR, np.float32),
        "loop": np.tile(excerpt, 3),
        "shifted": librosa.effects.pitch_shift(corpus_audio["train"][2][:6 * SR], sr=SR, n_steps=6),
        "fresh": corpus_audio["fresh"],
    }


def test_silence_and_clipping_are_flagged(cases):
    assert am.silence_ratio(cases["silence"]) == 1.0
    assert all(am.silence_ratio(cases[k]) < 0.05 for k in ("noise", "loop", "fresh"))
    clipped = np.clip(20 * cases["fresh"], -1, 1)
    assert am.clipping_ratio(clipped) > 0.1
    assert am.clipping_ratio(cases["fresh"]) == 0.0


def test_loop_ratio_flags_a_looped_excerpt_only(cases):
    ratios = {k: am.loop_ratio(cases[k], sample_rate=SR) for k in cases}
    assert ratios["loop"] > 0.8
    assert ratios["noise"] < 0.05 and ratios["silence"] == 0.0
    assert ratios["fresh"] < 0.3 and ratios["shifted"] < 0.3


def test_copy_rate_flags_training_audio_not_new_or_shifted_audio(cases, corpus_audio):
    rates = {k: am.copy_rate(cases[k], corpus_audio["train"], sample_rate=SR) for k in cases}
    assert rates["loop"] > 0.6          # frames across the loop seams do not match
    assert rates["noise"] == 0.0 and rates["silence"] == 0.0
    assert rates["fresh"] < 0.1 and rates["shifted"] < 0.1


def test_spectral_measures_rank_style_above_noise_silence_and_shift(cases, corpus_audio):
    ref = corpus_audio["eval"]
    fd = {k: am.spectral_frechet([cases[k]], ref, sample_rate=SR) for k in cases}
    assert fd["fresh"] < fd["noise"] and fd["fresh"] < fd["silence"]
    spectra = {k: am.compare_spectra([cases[k]], ref, sample_rate=SR) for k in ("fresh", "shifted", "noise")}
    # A tritone shift moves the C-major pitch-class profile off the corpus's.
    assert spectra["fresh"]["chroma"]["overlap"] > spectra["shifted"]["chroma"]["overlap"] + 0.1
    assert spectra["fresh"]["flatness"]["overlap"] > spectra["noise"]["flatness"]["overlap"] + 0.3


def test_a_set_against_itself_has_distance_zero_and_overlap_one(corpus_audio):
    ref = corpus_audio["eval"]
    assert am.spectral_frechet(ref, ref, sample_rate=SR) == pytest.approx(0.0, abs=1e-3)
    for value in am.compare_spectra(ref, ref, sample_rate=SR).values():
        assert value["overlap"] == pytest.approx(1.0) and value["kl"] == pytest.approx(0.0, abs=1e-12)


def test_reference_clips_stop_at_the_length():
    clips = [np.ones(5), np.ones(4), np.ones(3)]
    assert [len(c) for c in am.reference_clips(clips, sample_rate=2, seconds=3.5)] == [5, 2]


@pytest.mark.parametrize("call, message", [
    (lambda: am.silence_ratio(np.zeros((10, 2))), r"mono audio of shape"),
    (lambda: am.clipping_ratio(np.array([np.nan, 0.0])), "NaN"),
    (lambda: am.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3))), "at least two frames"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ComposerError, match=message):
        call()
