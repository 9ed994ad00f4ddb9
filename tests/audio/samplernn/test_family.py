"""SampleRNN through the harness: config checks, TBPTT batches, training below the unigram
entropy on synthesized music, and ``generate`` from the run dir."""

import json

import numpy as np
import pytest
import tensorflow as tf

from composer.audio.samplernn.family import FAMILY, SampleRNNConfig, generate
from composer.audio_io import read_audio, write_audio
from composer.config import TrainConfig
from composer.errors import ConfigError, CorpusError
from composer.generate import generate as generate_from_run

SAMPLE_RATE = 16000


def plucked_melody(seconds: float, *, seed: int) -> np.ndarray:
    """float32 [n_samples]: decaying harmonic notes of a random pentatonic melody, 4 per second."""
    rng = np.random.default_rng(seed)
    note_n = SAMPLE_RATE // 4
    t = np.arange(note_n) / SAMPLE_RATE
    notes = []
    for _ in range(int(seconds * 4)):
        f0 = 220.0 * 2 ** (rng.choice([0, 2, 4, 7, 9, 12]) / 12)
        notes.append(0.4 * np.exp(-6.0 * t) * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3)))
    return np.concatenate(notes).astype(np.float32)


class FakeCorpus:
    """What the family and the harness read of a ``composer.corpus.Corpus``: 10 s chunks."""

    def __init__(self, *, train_chunks: int = 4, eval_chunks: int = 1) -> None:
        self.name, self.sample_rate = "fake-melodies", SAMPLE_RATE
        self.counts = {"train": train_chunks, "eval": eval_chunks}

    def audio(self, split: str):
        for i in range(self.counts[split]):
            yield plucked_melody(10.0, seed=i + (1000 if split == "eval" else 0))

    def chunk_counts(self) -> dict:
        return {split: {"symbolic": 0, "audio": n} for split, n in self.counts.items()}

    def fingerprint(self) -> str:
        return f"fake-{self.counts['train']}-{self.counts['eval']}"


def small_config(**changes) -> SampleRNNConfig:
    base = dict(frame_sizes=(8, 2), dim=16, embed_dim=4, mlp_dims=(16,), subseq_len=64, subseqs_per_stretch=3,
                train=TrainConfig(batch_size=4))
    return SampleRNNConfig(**{**base, **changes})


@pytest.mark.parametrize("changes, message", [
    ({"frame_sizes": ()}, "frame_sizes"),
    ({"frame_sizes": (16, 5)}, "multiple of the next"),
    ({"frame_sizes": (4, 16)}, "multiple of the next"),
    ({"frame_sizes": (16, 16)}, "multiple of the next"),
    ({"subseq_len": 100}, "subseq_len 100 must be a multiple of the top frame size 8"),
    ({"q_levels": 1}, "q_levels"),
    ({"listen_skip_seconds": 2.0}, "listen_skip_seconds"),
    ({"model": "lstm-vae"}, "model must be 'samplernn'"),
])
def test_bad_configs_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        small_config(**changes)


def test_training_batches_are_consecutive_windows_of_stretches(tmp_path):
    config = small_config()
    meta = FAMILY.prepare(FakeCorpus(), config, tmp_path)
    data = FAMILY.make_dataset(FakeCorpus(), config, meta, split="train", training=True)
    batches = list(data.take(6))
    look, n = 8, 64
    assert [bool(b["reset"]) for b in batches] == [True, False, False] * 2
    for batch in batches:
        assert batch["codes"].shape == (4, look + n) and batch["codes"].dtype == tf.int32
        np.testing.assert_array_equal(batch["weight"], np.ones(4))
    for before, after in zip(batches[:2], batches[1:3]):  # the next window starts where the last one's targets end
        np.testing.assert_array_equal(after["codes"][:, :look], before["codes"][:, -look:])


def test_train_iterator_resumes_at_the_same_position(tmp_path):
    config = small_config()
    data = FAMILY.make_dataset(FakeCorpus(), config, {}, split="train", training=True)
    iterator = iter(data)
    next(iterator)
    checkpoint = tf.train.Checkpoint(data=iterator)
    path = checkpoint.save(str(tmp_path / "ckpt"))
    expected = [next(iterator)["codes"] for _ in range(4)]
    restored = iter(data)
    tf.train.Checkpoint(data=restored).restore(path)
    for want in expected:
        np.testing.assert_array_equal(next(restored)["codes"], want)


def test_eval_batches_cover_every_stretch_once():
    config = small_config(train=TrainConfig(batch_size=16))
    data = list(FAMILY.make_dataset(FakeCorpus(), config, {}, split="eval", training=False))
    stretches = 10 * SAMPLE_RATE // (3 * 64)  # one 10 s chunk
    weights = np.concatenate([b["weight"].numpy() for b in data if b["reset"]])
    assert weights.sum() == stretches and len(weights) % 16 == 0


def test_too_short_audio_is_a_corpus_error():
    config = small_config(subseq_len=64 * 1000)
    with pytest.raises(CorpusError, match="no train audio chunk of at least"):
        FAMILY.make_dataset(FakeCorpus(), config, {}, split="train", training=True)
    assert list(FAMILY.make_dataset(FakeCorpus(), config, {}, split="eval", training=False)) == []


def test_summary_is_in_bits_next_to_the_unigram_entropy(tmp_path):
    meta = FAMILY.prepare(FakeCorpus(), small_config(), tmp_path)
    summary = FAMILY.summarize(np.log(2) * 3.0, meta)
    assert summary["eval_bits_per_sample"] == pytest.approx(3.0)
    assert 4.0 < summary["baseline_bits_per_sample"]["unigram"] < 8.0


@pytest.mark.slow
def test_tiny_preset_trains_below_unigram_and_generates(tmp_path):
    from composer.train.trainer import train

    run_dir = tmp_path / "run"
    metrics = train("samplernn", corpus=FakeCorpus(), config_path="configs/samplernn/tiny.yaml", run_dir=run_dir,
                    steps=100, progress=False)
    assert metrics["step"] == 100
    stored = json.loads((run_dir / "metrics.json").read_text())
    assert stored["eval_bits_per_sample"] < stored["baseline_bits_per_sample"]["unigram"] - 2.0

    primer = write_audio(tmp_path / "primer.wav", plucked_melody(1.0, seed=5), SAMPLE_RATE)
    paths = generate(run_dir, out=tmp_path / "out.wav", seconds=0.5, num=2, seed=3, primer=primer)
    assert [p.name for p in paths] == ["out-1.wav", "out-2.wav"]
    audio = [read_audio(p)[0] for p in paths]
    assert all(len(a) == SAMPLE_RATE // 2 and np.all(np.isfinite(a)) and np.abs(a).max() <= 0.8913 for a in audio)
    assert not np.array_equal(audio[0], audio[1])
    with pytest.raises(ConfigError, match=r"^--seconds must be within \(0, 600\] for this model"):
        generate_from_run(run_dir, out=tmp_path / "x.wav", seconds=0.0)
    # without a primer file, generation starts inside the song: a window stored at training
    assert np.load(run_dir / "primers.npz")["audio"].shape[1] == 2 * SAMPLE_RATE
    [song] = generate(run_dir, out=tmp_path / "song.wav", seconds=0.25, seed=1)
    assert len(read_audio(song)[0]) == SAMPLE_RATE // 4


def test_chunks_shorter_than_a_primer_leave_generation_to_start_from_silence(tmp_path):
    class ShortChunks(FakeCorpus):
        def audio(self, split):
            for chunk in super().audio(split):
                yield chunk[:SAMPLE_RATE]  # 1 s, shorter than the 2 s song primers

    meta = FAMILY.prepare(ShortChunks(), small_config(), tmp_path)
    assert not (tmp_path / "primers.npz").exists() and (tmp_path / "references.npz").is_file()
    assert meta["q_levels"] == 256


def test_a_preset_rate_reads_the_corpus_resampled(tmp_path):
    """``sample_rate`` 8000 on a 16 kHz corpus: meta, references, primers and training windows are all
    at 8 kHz, and the melody keeps its pitch."""
    config = small_config(sample_rate=8000)
    meta = FAMILY.prepare(FakeCorpus(), config, tmp_path)
    assert meta["sample_rate"] == 8000
    assert len(np.load(tmp_path / "references.npz")["eval"]) == 10 * 8000
    assert np.load(tmp_path / "primers.npz")["audio"].shape[1] == 2 * 8000
    train_stretches = 4 * ((10 * 8000 - 8) // (config.stretch_len - 8))
    windows = list(FAMILY.make_dataset(FakeCorpus(), config, meta, split="train", training=True)
                   .take(config.subseqs_per_stretch * train_stretches // 4))
    assert all(w["codes"].shape == (4, 8 + 64) for w in windows)

    def peak_hz(note, rate):  # the first note, 250 ms
        return np.argmax(np.abs(np.fft.rfft(note[:rate // 4] * np.hanning(rate // 4)))) * 4.0

    assert peak_hz(np.load(tmp_path / "references.npz")["train"], 8000) == peak_hz(plucked_melody(1.0, seed=0),
                                                                                  SAMPLE_RATE)
