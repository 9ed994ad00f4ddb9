"""Listening during training: a sample is scored against the run's references, and the best checkpoint is
the best-sounding one among those that also beat the trivial baselines."""

import numpy as np

from composer.audio import listening

SR = 16000  # tests/evaluate/conftest.py's rate; the pieces are synthesized here the same way


class Corpus:
    sample_rate = SR

    def __init__(self, clips):
        self.clips = clips

    def audio(self, split):
        return iter(self.clips[split])


def piece(seed, seconds=6.0):
    """Decaying harmonic notes on a C major scale, a new one every 250 ms."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.25 * SR)) / SR
    notes = []
    for pitch in rng.choice([60, 62, 64, 65, 67, 69, 71, 72], int(seconds * 4)):
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        notes.append(sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 5)) * np.exp(-8 * t))
    return (0.2 * np.concatenate(notes)).astype(np.float32)


def test_sample_ratios_score_music_high_and_noise_low(tmp_path):
    listening.save_references(Corpus({"train": [piece(0), piece(1)], "eval": [piece(2)]}), tmp_path, seconds=8.0)
    music = listening.sample_ratios(piece(3, seconds=4.0)[None], tmp_path, sample_rate=SR)
    noise = listening.sample_ratios(0.05 * np.random.default_rng(0).standard_normal((1, 4 * SR)), tmp_path,
                                    sample_rate=SR)
    assert music["ratio_whitened_flatness"] > 0.7 and noise["ratio_whitened_flatness"] < 0.1
    assert music["audio_ratio"] > 0.6 > 0.1 > noise["audio_ratio"]


def test_references_fall_back_to_train_without_an_eval_split(tmp_path):
    listening.save_references(Corpus({"train": [piece(0)], "eval": []}), tmp_path)
    stored = np.load(tmp_path / listening.REFERENCES)
    assert np.array_equal(stored["train"], stored["eval"]) and len(stored["train"]) == 6 * SR


def test_checkpoints_beating_the_baselines_rank_first():
    def loss(ratio, beats):
        return listening.with_selection({"audio_ratio": ratio}, "audio_ratio", beats_baselines=beats)["selection_loss"]

    assert loss(-1.0, True) < loss(1.0, False)  # the worst-sounding beating one before the best-sounding other
    assert loss(0.8, True) < loss(0.5, True) and loss(0.8, False) < loss(0.5, False)
    assert "selection_loss" not in listening.with_selection({"audio_ratio": 1.0}, "eval_loss", beats_baselines=True)


def test_the_minimum_prefers_a_music_like_sample_that_the_mean_passes_over():
    """A noise sample at the song's loudness (SampleRNN on the rag, step 750: whitened flatness 0.00,
    Frechet 0.67, chroma 0.06, loudness 2.23) outscores a modest music-like one in the mean, not in the minimum."""
    figures = ("whitened_flatness", "spectral_frechet", "chroma_clarity", "loudness_distance")

    def scored(values, best_by):
        ratios = {f"ratio_{name}": value for name, value in zip(figures, values)}
        clipped = np.clip(values, *listening.RATIO_RANGE)
        ratios.update(audio_ratio=float(np.mean(clipped)), audio_min=float(np.min(clipped)))
        return listening.with_selection(ratios, best_by, beats_baselines=True)["selection_loss"]

    noise, music = (0.004, 0.67, 0.06, 2.23), (0.35, 0.3, 0.3, 0.3)
    assert scored(noise, "audio_ratio") < scored(music, "audio_ratio")  # the mean keeps the noise
    assert scored(music, "audio_min") < scored(noise, "audio_min")


def test_sample_ratios_report_the_mean_and_the_minimum(tmp_path):
    listening.save_references(Corpus({"train": [piece(0)], "eval": [piece(2)]}), tmp_path, seconds=4.0)
    ratios = listening.sample_ratios(piece(3, seconds=2.0)[None], tmp_path, sample_rate=SR)
    clipped = np.clip([v for k, v in ratios.items() if k.startswith("ratio_")], *listening.RATIO_RANGE)
    assert ratios["audio_min"] == min(clipped) and np.isclose(ratios["audio_ratio"], np.mean(clipped))


def test_whitened_selection_ignores_tones_and_level_jumps():
    """The 1 kHz-tone noise of a collapsed SampleRNN earns chroma and loudness ratios above the song's
    (2.18 and 2.23 on the rag); chosen by the whitened ratio alone, a modest music-like sample wins."""
    tones = {"ratio_whitened_flatness": 0.02, "ratio_spectral_frechet": 0.4, "ratio_chroma_clarity": 2.18,
             "ratio_loudness_distance": 2.23, "audio_ratio": 0.61, "audio_min": 0.02}
    music = {"ratio_whitened_flatness": 0.35, "ratio_spectral_frechet": 0.3, "ratio_chroma_clarity": 0.3,
             "ratio_loudness_distance": 0.3, "audio_ratio": 0.31, "audio_min": 0.3}

    def loss(ratios, best_by):
        return listening.with_selection(ratios, best_by, beats_baselines=True)["selection_loss"]

    assert loss(tones, "audio_ratio") < loss(music, "audio_ratio")
    assert loss(music, "whitened") < loss(tones, "whitened")
    assert loss({**music, "ratio_whitened_flatness": 3.0}, "whitened") == -1.0  # clipped as the others
    flicker = {**music, "ratio_whitened_flatness": 0.8, "ratio_whitened_coherence": 0.05}
    assert loss(music, "whitened") < loss(flicker, "whitened")  # the lower of the two whitened ratios counts
