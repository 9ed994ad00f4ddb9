"""Symbolic feature distributions: exact per-window values, self-comparison, pitch shifts."""

import numpy as np
import pretty_midi
import pytest

from composer.errors import ComposerError
from composer.measures import features

C_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def piece(rng, *, shift=0, seconds=20.0):
    """A PrettyMIDI of random C-major triads (optionally transposed by ``shift`` semitones)."""
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    t = 0.0
    while t < seconds - 1.0:
        length = 0.25 * rng.integers(1, 4)
        for pitch in 48 + 12 * rng.integers(0, 3, 3) + rng.choice(C_MAJOR, 3, replace=False):
            inst.notes.append(pretty_midi.Note(int(rng.integers(60, 100)), int(pitch + shift), t, t + length))
        t += length
    pm.instruments.append(inst)
    return pm


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(3)
    train, eval_ = [piece(rng) for _ in range(8)], [piece(rng) for _ in range(4)]
    return {"train": features.set_features(train), "eval": features.set_features(eval_),
            "fresh": features.set_features([piece(rng) for _ in range(3)]),
            "shifted": features.set_features([piece(rng, shift=6) for _ in range(3)])}


def test_window_features_exact_values():
    notes = np.array([[0.0, 1.0, 60, 80], [0.0, 0.5, 64, 90], [0.5, 1.5, 67, 100], [2.0, 2.5, 72, 70]])
    f = features.window_features(notes, duration_s=4.0)
    np.testing.assert_array_equal(f["pitch_class"], [0, 4, 7, 0])
    assert f["pitch_range"][0] == 12 and f["pitch_count"][0] == 4
    assert f["note_density"][0] == pytest.approx(3 / 4.0)
    np.testing.assert_allclose(f["inter_onset_interval"], [0.5, 1.5])
    np.testing.assert_allclose(f["note_duration"], [1.0, 0.5, 1.0, 0.5])
    np.testing.assert_array_equal(f["polyphony"], [2, 2, 1])   # at 0.5 s the 64 ends as the 67 starts


def test_note_array_reads_midi_files_and_note_sequences(tmp_path):
    import note_seq

    pm = piece(np.random.default_rng(0), seconds=4.0)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes.append(pretty_midi.Note(100, 36, 0.0, 1.0))
    pm.instruments.append(drums)
    path = tmp_path / "p.mid"
    pm.write(str(path))
    from_file = features.note_array(path)
    from_sequence = features.note_array(note_seq.midi_file_to_note_sequence(str(path)))
    assert from_file.shape == (len(pm.instruments[0].notes), 4)       # the drum note is left out
    np.testing.assert_allclose(from_file, from_sequence, atol=1e-3)


def test_windows_split_long_pieces():
    def split(seconds):
        notes = np.array([[t, t + 0.5, 60, 80] for t in np.arange(0, seconds, 1.0)])
        return [(len(p), d) for p, d in features.windows(notes, window_s=10.0)]

    assert split(26) == [(10, 10.0), (10, 10.0), (6, 5.5)]     # 25.5 s: the last half window is kept
    assert split(25) == [(10, 10.0), (10, 10.0)]               # 24.5 s: 4.5 s left over is dropped
    assert split(3) == [(3, 2.5)]                              # a short piece keeps its length


def test_a_set_against_itself_overlaps_fully(sets):
    summary = features.feature_summary(sets["eval"], sets["eval"], sets["eval"])
    assert set(summary["feature_overlap"]) == set(features.FEATURES)
    assert all(v == pytest.approx(1.0) for v in summary["feature_overlap"].values())
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in summary["feature_kl"].values())
    assert summary["feature_overlap_ratio"] == pytest.approx(1.0)


def test_pitch_shift_is_ranked_below_same_style(sets):
    fresh = features.feature_summary(sets["fresh"], sets["eval"], sets["train"])
    shifted = features.feature_summary(sets["shifted"], sets["eval"], sets["train"])
    assert fresh["feature_overlap"]["pitch_class"] > 0.9
    assert shifted["feature_overlap"]["pitch_class"] < fresh["feature_overlap"]["pitch_class"] - 0.2
    assert shifted["feature_kl"]["pitch_class"] > fresh["feature_kl"]["pitch_class"]
    assert shifted["feature_overlap_ratio"] < fresh["feature_overlap_ratio"]
    assert fresh["feature_overlap_ceiling"]["pitch_class"] > 0.9


@pytest.mark.parametrize("item, message", [
    ("song.wav", "not a MIDI file"),
    ("missing.mid", "cannot read MIDI"),
    (42, "cannot read notes from a int"),
])
def test_bad_input_is_a_clear_error(tmp_path, item, message):
    if isinstance(item, str):
        item = tmp_path / item
    with pytest.raises(ComposerError, match=message):
        features.note_array(item)


def test_a_generated_set_without_notes_scores_zero_overlap(sets):
    empty = features.set_features([pretty_midi.PrettyMIDI()])
    assert all(values.size == 0 for values in empty.values())
    summary = features.feature_summary(empty, sets["eval"], sets["train"])
    assert all(v == 0.0 for v in summary["feature_overlap"].values())
    assert all(np.isfinite(v) and v > 0.0 for v in summary["feature_kl"].values())
    assert summary["feature_overlap_ratio"] == 0.0


def test_velocity_histogram_agrees_with_the_performance_encoding_bins():
    """Velocity 64 decodes from Magenta's 32 bins as 61: both must land in one histogram bin."""
    from composer.measures.features import FEATURE_BINS
    from composer.symbolic.encoding import PerformanceEncoding

    size = PerformanceEncoding().velocity_bin_size
    edges = FEATURE_BINS["velocity"]
    for velocity in range(1, 128):
        decoded = 1 + (velocity - 1) // size * size
        assert np.searchsorted(edges, velocity) == np.searchsorted(edges, decoded)


def test_feature_stats_and_held_notes_are_the_values_behind_the_histograms():
    notes = np.array([[0.0, 0.5, 60, 80], [0.0, 6.0, 64, 80], [0.0, 0.5, 67, 80], [1.0, 1.5, 72, 80]])
    values = features.window_features(notes, duration_s=10.0)
    stats = features.feature_stats(values)
    assert "pitch_class" not in stats                   # a category: no median
    assert stats["polyphony"] == {"median": 2.5, "p90": pytest.approx(2.9)}  # 3 notes at 0 s, 2 at 1 s
    assert stats["note_duration"]["median"] == 0.5
    assert features.held_note_share(values) == 0.25     # one note of four lasts 4 s or more
    empty = features.set_features([])
    assert features.feature_stats(empty)["velocity"] == {"median": None, "p90": None}
    assert features.held_note_share(empty) is None


def test_feature_summary_carries_stats_for_every_set(sets):
    summary = features.feature_summary(sets["fresh"], sets["eval"], sets["train"])
    assert set(summary["feature_stats"]) == set(summary["held_note_share"]) == {"generated", "eval", "train"}
    assert summary["feature_stats"]["eval"]["velocity"]["median"] == pytest.approx(np.median(sets["eval"]["velocity"]))
