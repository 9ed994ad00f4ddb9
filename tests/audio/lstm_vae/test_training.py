"""The LSTM+VAE end to end: training through the shared harness on synthesized chords beats the
trivial next-frame predictors, and generation from the run dir writes clean, reproducible wavs."""

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from composer.audio.lstm_vae.family import FAMILY
from composer.audio.lstm_vae.features import normalized_split
from composer.audio.lstm_vae.generate import generate
from composer.audio.transforms import Normalizer
from composer.audio_io import read_audio, write_audio
from composer.errors import CorpusError
from composer.train.run import load_run
from composer.train.trainer import train

pytestmark = pytest.mark.slow
SR = 8000
TINY = Path(__file__).parents[3] / "configs" / "lstm_vae" / "tiny.yaml"
STEPS = 60


def chord_progression(seconds: float, *, seed: int, bpm: float = 120.0) -> np.ndarray:
    """A piano-like I-vi-IV-V progression: decaying harmonic tones with a bass, one chord per two beats."""
    rng = np.random.default_rng(seed)
    chords = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)]
    t = np.arange(int(120.0 / bpm * SR)) / SR
    audio = np.zeros(int(seconds * SR) + len(t), np.float32)
    for k in range(int(np.ceil(seconds * bpm / 120.0))):
        tone = np.zeros_like(t)
        for pitch in chords[k % 4] + (chords[k % 4][0] - 12,):
            f0 = 440.0 * 2 ** ((pitch - 69) / 12) * (1 + 0.002 * rng.standard_normal())
            for harmonic in range(1, 6):
                tone += np.sin(2 * np.pi * harmonic * f0 * t + rng.uniform(0, 2 * np.pi)) / harmonic ** 1.5
        start = k * len(t)
        audio[start:start + len(t)] += 0.12 * tone * np.exp(-3.0 * t) * np.minimum(1.0, t / 0.005)
    return audio[:int(seconds * SR)]


class FakeCorpus:
    """The part of composer.corpus.Corpus the LSTM+VAE uses, over in-memory chunks."""

    def __init__(self, train_chunks: list, eval_chunks: list, name: str = "chords") -> None:
        self.name, self.sample_rate = name, SR
        self._chunks = {"train": train_chunks, "eval": eval_chunks}

    def audio(self, split):
        yield from self._chunks[split]

    def chunk_counts(self):
        return {split: {"symbolic": 0, "audio": len(chunks)} for split, chunks in self._chunks.items()}

    def fingerprint(self):
        return hashlib.sha1(b"".join(c.tobytes() for c in self._chunks["train"])).hexdigest()[:12]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    corpus = FakeCorpus([chord_progression(12, seed=1), chord_progression(12, seed=2)], [chord_progression(6, seed=9)])
    work = tmp_path_factory.mktemp("lstm_vae")
    config = yaml.safe_load(TINY.read_text())
    config["train"].update(eval_every=20, eval_batches=4, checkpoint_every=STEPS)
    (work / "tiny.yaml").write_text(yaml.safe_dump(config))
    metrics = train("lstm-vae", corpus=corpus, config_path=work / "tiny.yaml", run_dir=work / "run", steps=STEPS,
                    progress=False)
    return work / "run", metrics, corpus


def test_training_lowers_eval_loss_below_the_trivial_predictors(trained):
    run_dir, metrics, _ = trained
    history = [h["eval_loss"] for h in metrics["history"]]
    baselines = metrics["baseline_eval_loss"]
    assert history[-1] < history[0]
    assert metrics["best"]["eval_loss"] < baselines["repeat_last_frame"]
    assert metrics["best"]["eval_loss"] < baselines["mean_frame"]
    # each evaluation also scored a short sample between noise and the song (composer.audio.listening)
    assert all({"ratio_whitened_flatness", "ratio_spectral_frechet", "audio_ratio"} <= set(h)
               for h in metrics["history"])
    assert (run_dir / "normalization.npz").is_file() and (run_dir / "primers.npz").is_file()
    run = load_run(run_dir, checkpoint="latest")
    assert int(run.model.step.numpy()) == STEPS  # the KL warm-up resumes from the checkpointed step


def test_generate_writes_clean_reproducible_wavs_of_the_asked_length(trained, tmp_path):
    run_dir, _, _ = trained
    paths = generate(run_dir, out=tmp_path / "x.wav", seconds=2.0, seed=3, num=2)
    assert [p.name for p in paths] == ["x-1.wav", "x-2.wav"]
    first = [read_audio(p) for p in paths]
    for audio, rate in first:
        assert rate == SR and audio.shape == (2 * SR,)
        assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) < 0.9
        assert np.sqrt(np.mean(audio ** 2)) > 1e-3  # not silence
        assert np.max(np.abs(np.diff(audio))) < 0.5  # no clicks at frame joins
    again = generate(run_dir, out=tmp_path / "y.wav", seconds=2.0, seed=3, num=2)
    assert all(np.array_equal(a, read_audio(p)[0]) for (a, _), p in zip(first, again))
    other = generate(run_dir, out=tmp_path / "z.wav", seconds=2.0, seed=4, num=2)
    assert not np.array_equal(first[0][0], read_audio(other[0])[0])


def test_generate_continues_a_primer_file_and_can_keep_it(trained, tmp_path):
    run_dir, _, _ = trained
    primer = write_audio(tmp_path / "primer.wav", chord_progression(1.5, seed=5), SR)
    [path] = generate(run_dir, out=tmp_path / "kept.wav", seconds=1.0, seed=0, primer=primer, keep_primer=True)
    kept, _ = read_audio(path)
    assert len(kept) > 2 * SR  # the primer's 1.5 s (minus its padded end) and the 1 s continuation


def test_baseline_scores_the_same_eval_windows_as_the_harness(trained):
    run_dir, metrics, corpus = trained
    run = load_run(run_dir)

    def mean_square_step(split):
        windows = np.concatenate([batch.numpy() for batch in FAMILY.make_dataset(corpus, run.config, run.meta,
                                                                                 split=split, training=False)])
        assert windows.shape[1:] == (run.config.sequence_frames + 1, run.meta["feature_dim"])
        return np.mean(np.square((windows[:, 1:] - windows[:, :-1]).astype(np.float64)), axis=(0, 1))

    train_var, eval_mse = mean_square_step("train"), mean_square_step("eval")
    repeat_last = np.sum(0.5 * eval_mse / train_var + 0.5 * np.log(train_var))  # scale fitted on train
    assert repeat_last == pytest.approx(metrics["baseline_eval_loss"]["repeat_last_frame"], rel=1e-4)


def test_prepare_names_a_corpus_without_audio(tmp_path):
    empty = FakeCorpus([], [], name="midi-only")
    with pytest.raises(CorpusError, match="midi-only.*render-audio"):
        FAMILY.prepare(empty, load_tiny(), tmp_path)


def load_tiny():
    from composer.audio.lstm_vae.config import LstmVaeConfig
    from composer.config import load

    return load(TINY, LstmVaeConfig)


def test_the_models_scale_starts_at_the_datas_own_spread(trained):

    run_dir, _, _ = trained
    run = load_run(run_dir)
    spread = Normalizer.load(run_dir / "normalization.npz").spread
    fresh = FAMILY.build_model(run.config, run.meta)
    np.testing.assert_allclose(fresh.log_scale.numpy(), np.log(np.maximum(spread, 0.01)), rtol=1e-6)


def test_generate_keeps_the_asked_peak_limit(trained, tmp_path):
    from composer.generate import generate as generate_any

    run_dir, _, _ = trained
    [path] = generate_any(run_dir, out=tmp_path / "quiet.wav", seconds=1.0, seed=0, peak_db=-12.0)
    assert np.abs(read_audio(path)[0]).max() <= 10 ** (-12 / 20) + 1 / 32768


def test_only_the_training_windows_come_from_the_augmented_song():
    corpus = FakeCorpus([chord_progression(6, seed=1)], [chord_progression(6, seed=2)])
    plain = load_tiny()
    augmented = dataclasses.replace(plain, augment_semitones=1)
    normalizer = Normalizer.fit([np.zeros((2, plain.spec.feature_dim)), np.ones((2, plain.spec.feature_dim))])
    one, starts_one = normalized_split(corpus, plain, normalizer, "train", training=True)
    three, starts_three = normalized_split(corpus, augmented, normalizer, "train", training=True)
    # the song, a semitone slower (longer) and a semitone faster (shorter)
    assert len(three) == pytest.approx(3 * len(one), rel=0.02) and len(starts_three) > 2.9 * len(starts_one)
    assert np.array_equal(three[:len(one)], one)
    eval_plain, _ = normalized_split(corpus, plain, normalizer, "eval", training=False)
    eval_augmented, _ = normalized_split(corpus, augmented, normalizer, "eval", training=False)
    assert np.array_equal(eval_plain, eval_augmented)
