"""Controls, augmentation, the training windows and the encoded-split cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from note_seq import performance_lib, sequences_lib
from note_seq.performance_controls import NoteDensityPerformanceControlSignal, PitchHistogramPerformanceControlSignal
from note_seq.protobuf import music_pb2

from composer.errors import ConfigError, CorpusError
from composer.measures import keys
from composer.symbolic import controls as ctl
from composer.symbolic.augment import time_stretch, transpose_window, transposition_range
from composer.symbolic.cache import encoded_split
from composer.symbolic.dataset import check_tokens, layout, windows_dataset
from composer.symbolic.encoding import PerformanceEncoding

ENCODING = PerformanceEncoding()
N = ENCODING.num_classes


def chord_sequence(seconds: float = 12.0, step_s: float = 0.25, pitches=(60, 64, 67)) -> music_pb2.NoteSequence:
    """A repeated chord: len(pitches) / step_s notes per second."""
    sequence = music_pb2.NoteSequence()
    for k in range(int(seconds / step_s)):
        for pitch in pitches:
            sequence.notes.add(pitch=pitch, velocity=80, start_time=k * step_s, end_time=(k + 0.9) * step_s)
    sequence.total_time = seconds
    return sequence


def test_controls_match_magenta():
    rng = np.random.default_rng(3)
    sequence = music_pb2.NoteSequence()
    for _ in range(60):
        start = rng.uniform(0, 10)
        sequence.notes.add(pitch=int(rng.integers(40, 80)), velocity=90, start_time=start,
                           end_time=start + rng.uniform(0.01, 1.5))
    performance = performance_lib.Performance(sequences_lib.quantize_note_sequence_absolute(sequence, 100),
                                              num_velocity_bins=32)
    events = ENCODING.encode(sequence)
    density = NoteDensityPerformanceControlSignal(3.0, [1, 2, 4, 8, 16, 32, 64]).extract(performance)
    np.testing.assert_allclose(ctl.note_density(events, ENCODING), density)
    histogram = np.array(PitchHistogramPerformanceControlSignal(5.0).extract(performance))
    np.testing.assert_allclose(ctl.pitch_histogram(events, ENCODING), histogram / histogram.sum(1, keepdims=True))


def test_control_vectors_of_a_chord():
    events = ENCODING.encode(chord_sequence())
    vectors = ctl.control_vectors(events, ENCODING, ("density", "pitch_histogram"))
    assert vectors.shape == (len(events), ctl.control_dim(("density", "pitch_histogram"))) == (len(events), 29)
    assert ctl.density_of(vectors[:1, :15])[0] == pytest.approx(12.0)   # 3 notes every 0.25 s
    histogram = vectors[0, 15:27]
    assert set(np.flatnonzero(histogram > 0.3)) == {0, 4, 7} and histogram.sum() == pytest.approx(1.0)
    assert not vectors[:, 27:].any()              # every control present


def test_density_code_is_exact_inside_its_range_and_clamped_outside():
    densities = np.array([0.5, 0.7, 1.0, 2.0, 3.0, 4.1, 7.9, 12.0, 50.0, 64.0])
    code = ctl.density_code(densities)
    assert code.shape == (10, 15) and np.allclose(code.sum(axis=1), 1.0) and (code >= 0).all()
    assert (np.count_nonzero(code, axis=1) <= 2).all()
    np.testing.assert_allclose(ctl.density_of(code), densities, rtol=1e-5)
    np.testing.assert_allclose(ctl.density_of(ctl.density_code(np.array([0.0, 0.1, 500.0]))), [0.5, 0.5, 64.0])
    assert not np.allclose(ctl.density_code(np.array([2.0])), ctl.density_code(np.array([2.6])))


def test_user_controls_and_keys():
    d_minor = keys.key_histogram("D minor")
    assert d_minor.argmax() == 2 and d_minor[[2, 4, 5, 7, 9, 10, 0]].all() and not d_minor[[1, 3, 6, 8, 11]].any()
    assert keys.key_histogram("Eb major").argmax() == 3
    rows = ctl.user_controls(("density", "pitch_histogram"), density=[1.5, 10.0])
    assert rows.shape == (2, 29)
    np.testing.assert_allclose(ctl.density_of(rows[:, :15]), [1.5, 10.0], rtol=1e-5)
    assert rows[:, 27].tolist() == [0, 0] and rows[:, 28].tolist() == [1, 1]  # histogram absent
    with pytest.raises(ConfigError, match="key 'H dorian'"):
        keys.key_histogram("H dorian")
    with pytest.raises(ConfigError, match="unknown control 'tempo'"):
        ctl.check_controls(("tempo",))


def test_time_stretch_scales_times_and_keeps_notes():
    events = ENCODING.encode(chord_sequence(seconds=4.0))
    notes = ENCODING.decode_notes(events)
    for factor in (0.95, 1.05):
        stretched = ENCODING.decode_notes(time_stretch(events, factor, ENCODING))
        assert len(stretched) == len(notes)
        np.testing.assert_array_equal(stretched[:, 2:], notes[:, 2:])
        assert np.abs(stretched[:, 0] - np.floor(notes[:, 0] * factor + 0.5)).max() <= 1
    np.testing.assert_array_equal(time_stretch(events, 1.0, ENCODING), events)


def test_transposition_stays_in_range():
    events = tf.constant([127 - 1, 128 + 126, ENCODING.shift_offset + 5, 2], tf.int32)  # pitches 126, 126, 2
    low, high = transposition_range(events, tf.ones(4), 3)
    assert (int(low), int(high)) == (-2, 1)
    moved = transpose_window(events, tf.ones(4), tf.constant(1)).numpy()
    assert moved.tolist() == [127, 255, ENCODING.shift_offset + 5, 3]


def test_transposition_leaves_padding_alone():
    """Regression: padding (token 0, weight 0) shifted down became event -3, garbage under XLA."""
    chunks = [ENCODING.encode(chord_sequence(seconds=s)) for s in (3.0, 7.0)]
    data = layout(chunks, ENCODING, example_events=512, hop=16)  # windows longer than the chunks
    assert (data.weights == 0).any()
    for seed in range(4):
        for batch in windows_dataset(data, example_events=512, batch_size=8, training=True, num_classes=N, seed=seed,
                                     transpose=5).take(2):
            events = np.concatenate([batch["events"].numpy(), batch["targets"].numpy()], axis=1)
            assert events.min() >= 0 and events.max() < ENCODING.num_classes
            padded = batch["weights"].numpy() == 0
            assert (batch["targets"].numpy()[padded] == 0).all()


def test_out_of_range_events_are_an_error_naming_the_chunk():
    good = ENCODING.encode(chord_sequence(seconds=2.0))
    check_tokens([good], N, corpus="mine", split="train")
    with pytest.raises(CorpusError, match=r"corpus 'mine' train chunk 1: event -3 is outside 0\.\.387"):
        check_tokens([good, np.array([5, -3, 7], np.int32)], N, corpus="mine", split="train")


def test_a_window_augmented_out_of_range_stops_the_pipeline(monkeypatch):
    import composer.symbolic.dataset as dataset

    monkeypatch.setattr(dataset, "transpose_window", lambda events, weights, semitones: events - 400)
    data = layout([ENCODING.encode(chord_sequence(seconds=2.0))], ENCODING, example_events=16, hop=4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="augmented window at offset .* outside 0..387"):
        next(iter(windows_dataset(data, example_events=16, batch_size=2, training=True, seed=0, num_classes=N,
                                  transpose=2)))


def test_windows_cover_every_target_once_and_augment():
    chunks = [ENCODING.encode(chord_sequence(seconds=s)) for s in (3.0, 7.0)]
    data = layout(chunks, ENCODING, example_events=64, hop=None, controls=("pitch_histogram",))
    batches = list(windows_dataset(data, example_events=64, batch_size=4, training=False, num_classes=N, seed=0))
    weights = np.concatenate([b["weights"].numpy().ravel() for b in batches])
    assert weights.sum() == sum(len(c) - 1 for c in chunks)
    first = batches[0]
    assert first["events"].shape == (4, 64) and first["controls"].shape == (4, 64, 13)
    np.testing.assert_array_equal(first["events"][0, 1:], first["targets"][0, :-1])

    train = layout(chunks, ENCODING, example_events=64, hop=16, controls=("pitch_histogram",))
    batch = next(iter(windows_dataset(train, example_events=64, batch_size=16, training=True, seed=1, num_classes=N,
                                      controls=("pitch_histogram",), transpose=3, control_dropout=0.5)))
    pitches = set(batch["events"].numpy()[batch["events"].numpy() < 128].tolist())
    assert pitches - {60, 64, 67}, "some windows should be transposed"
    dropped = batch["controls"][:, 0, 12].numpy() == 1
    assert 0 < dropped.sum() < 16 and not batch["controls"].numpy()[dropped, :, :12].any()
    again = next(iter(windows_dataset(train, example_events=64, batch_size=16, training=True, seed=1, num_classes=N,
                                      controls=("pitch_histogram",), transpose=3, control_dropout=0.5)))
    np.testing.assert_array_equal(batch["events"], again["events"])  # seeded


class FakeCorpus:
    """The slice of composer.corpus.Corpus that encoded_split uses."""

    def __init__(self, root: Path, sequences: dict) -> None:
        self.cache_dir, self.name, self.reads, self._sequences = root, "fake", 0, sequences

    def sequences(self, split: str):
        self.reads += 1
        return iter(self._sequences[split])

    def fingerprint(self) -> str:
        return "abc123"


def test_encoded_split_is_cached(tmp_path):
    corpus = FakeCorpus(tmp_path, {"train": [chord_sequence(2.0), music_pb2.NoteSequence()], "eval": []})
    first = encoded_split(corpus, "train", ENCODING)
    assert len(first) == 1 and first[0].dtype == np.int32
    again = encoded_split(corpus, "train", ENCODING)
    assert corpus.reads == 1 and np.array_equal(first[0], again[0])
    encoded_split(corpus, "train", PerformanceEncoding(velocity_bins=0))
    assert corpus.reads == 2  # other options, other cache file
    assert encoded_split(corpus, "eval", ENCODING) == []
    with pytest.raises(CorpusError, match="split must be"):
        encoded_split(corpus, "test", ENCODING)


def test_density_quantiles_are_what_the_corpus_plays():
    from composer.symbolic.event_family import density_quantiles

    slow, fast = (ENCODING.encode(chord_sequence(step_s=s)) for s in (1.0, 0.25))  # 3 and 12 notes/s
    low, middle, high = density_quantiles([slow, fast, fast], ENCODING)
    assert low == pytest.approx(3.0, abs=0.2) and high == pytest.approx(12.0, abs=0.5) and low < middle <= high


def test_corpus_key_profiles_ask_for_the_keys_the_corpus_plays():
    from composer.symbolic.event_family import key_profiles

    triads = {"C major": (60, 64, 67), "D minor": (62, 65, 69), "G major": (55, 59, 62)}
    chunks = [ENCODING.encode(chord_sequence(seconds=30.0, pitches=p)) for p in triads.values()]
    profiles = key_profiles(chunks * 3, ENCODING, every=4)
    assert set(profiles) == {"major", "minor"}
    for mode, profile in profiles.items():
        assert np.argmax(profile) == 0 and sum(profile) == pytest.approx(1.0, abs=1e-4)  # rotated to the tonic
        assert keys.estimate_key(np.asarray(profile)) == (0, mode)
    asked = keys.key_histogram("E minor", profiles)
    assert keys.estimate_key(asked) == (4, "minor") and np.allclose(asked, np.roll(profiles["minor"], 4))
    assert np.allclose(keys.key_histogram("E minor", {"major": profiles["major"]}), keys.scale_histogram(4, "minor"))


def test_hidden_hides_one_control_as_control_dropout_does():
    both = ("density", "pitch_histogram")
    rows = ctl.user_controls(both, density=[2.0, 8.0], histograms=[np.eye(12)[0]])
    np.testing.assert_array_equal(ctl.hidden(rows, both, "pitch_histogram"),
                                  ctl.user_controls(both, density=[2.0, 8.0]))
    np.testing.assert_array_equal(ctl.hidden(rows, both, "density"),
                                  ctl.user_controls(both, histograms=[np.eye(12)[0], np.eye(12)[0]]))


def test_estimate_keys_agrees_with_the_per_key_correlations():
    histograms = np.random.default_rng(5).dirichlet(np.ones(12) * 0.5, size=200)
    tonics, modes = keys.estimate_keys(histograms)
    for histogram, tonic, mode in zip(histograms, tonics, modes):
        best = max(((t, m) for m in keys.MODES for t in range(12)), key=lambda k: keys.key_correlation(histogram, *k))
        assert (int(tonic), keys.MODES[int(mode)]) == best
    assert keys.estimate_key(np.ones(12)) == (0, "major")
