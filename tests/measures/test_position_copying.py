"""NLL by position band, and the copy measures (interval n-grams found in the train split, longest run)."""

from __future__ import annotations

import numpy as np
import pytest
from note_seq.protobuf import music_pb2

from composer.measures.copying import TrainGrams, copy_measures, intervals
from composer.measures.ngram import KneserNey
from composer.measures.position import by_band, ngram_nll_by_position, windows_by_band


def test_by_band_means_and_empty_bands():
    positions = np.array([0, 127, 128, 511, 600])
    bands = by_band(np.array([1.0, 3.0, 2.0, 4.0, 5.0]), positions)
    assert bands == {"0-128": 2.0, "128-512": 3.0, "512-1024": 5.0, "1024-2048": None}


def test_windows_by_band_counts_the_windows_long_enough_to_reach_each_band():
    # 5,000 events cut into windows of 2,048, 2,048 and 904; two short pieces; an empty chunk
    assert windows_by_band([5000, 300, 60, 0]) == {"0-128": 5, "128-512": 4, "512-1024": 3, "1024-2048": 2}


def test_ngram_by_position_bins_each_chunk_from_its_start():
    rng = np.random.default_rng(0)
    train = [rng.integers(0, 6, 900) for _ in range(3)]
    eval_ = [rng.integers(0, 6, 700), rng.integers(0, 6, 100)]
    bands = ngram_nll_by_position(train, eval_, order=3, vocab_size=6, window=2048)
    model = KneserNey(3, vocab_size=6).fit(train)
    first = np.concatenate([-model.log_probs(e)[:min(128, len(e))] for e in eval_])
    assert bands["0-128"] == pytest.approx(first.mean())
    assert bands["512-1024"] == pytest.approx(-model.log_probs(eval_[0])[512:].mean())
    assert bands["1024-2048"] is None


def _melody(pitches, *, start: float = 0.0) -> music_pb2.NoteSequence:
    sequence = music_pb2.NoteSequence()
    for i, pitch in enumerate(pitches):
        sequence.notes.add(pitch=int(pitch), velocity=80, start_time=start + i * 0.5, end_time=start + i * 0.5 + 0.4)
    return sequence


def test_intervals_read_chords_bottom_up_in_onset_order():
    chord_then_note = _melody([60])
    chord_then_note.notes.add(pitch=67, velocity=80, start_time=0.0, end_time=0.4)
    chord_then_note.notes.add(pitch=64, velocity=80, start_time=0.0, end_time=0.4)
    chord_then_note.notes.add(pitch=62, velocity=80, start_time=1.0, end_time=1.4)
    np.testing.assert_array_equal(intervals(chord_then_note), [4, 3, -5])


def test_copies_are_found_transposed_and_fresh_music_is_not():
    rng = np.random.default_rng(1)
    tune = 60 + np.cumsum(rng.integers(-4, 5, 40)) % 24
    grams = TrainGrams([intervals(_melody(tune))])
    copied = copy_measures([_melody(tune[5:25] + 3)], grams)           # 20 notes of the tune, a third up
    assert copied["ngram_share_in_train"] == 1.0 and copied["longest_run_notes_max"] == 20
    spliced = copy_measures([_melody(np.r_[tune[:12], tune[:12] + 1 - tune[0] + tune[11]])], grams)
    assert spliced["longest_run_notes_max"] == 12                      # the splice breaks the run
    fresh = copy_measures([_melody(60 + rng.integers(0, 24, 30))], grams)
    assert fresh["ngram_share_in_train"] == 0.0 and fresh["longest_run_notes_max"] < 5
    assert copy_measures([_melody([60, 62])], grams)["ngram_share_in_train"] is None  # shorter than an 8-gram
