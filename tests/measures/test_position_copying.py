"""NLL by position band, and the copy measures (interval n-grams found in the train split, longest run)."""

from __future__ import annotations

import numpy as np
import pytest
from note_seq.protobuf import music_pb2

from composer.measures.copying import TrainGrams, copy_measures, intervals
from composer.measures.ngram import KneserNey
from composer.measures.position import by_band, change_by_band, ngram_nll_by_position, windows_by_band


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
    bands, change = ngram_nll_by_position(train, eval_, order=3, vocab_size=6, window=2048)
    model = KneserNey(3, vocab_size=6).fit(train)
    first = np.concatenate([-model.log_probs(e)[1:min(128, len(e))] for e in eval_])   # event 0 is no target
    assert bands["0-128"] == pytest.approx(first.mean())
    assert bands["512-1024"] == pytest.approx(-model.log_probs(eval_[0])[512:].mean())
    assert bands["1024-2048"] is None
    long_nll = -model.log_probs(eval_[0])   # the only window past event 128: compared with its own opening
    assert change["512-1024"] == pytest.approx(long_nll[512:].mean() - long_nll[1:128].mean())
    assert change["1024-2048"] is None


def test_change_by_band_compares_each_band_with_the_same_windows_opening():
    # window 0: 600 events, easy opening (1.0) and harder later (2.0); window 1: 100 events, all hard (5.0)
    nll = np.r_[np.full(128, 1.0), np.full(472, 2.0), np.full(100, 5.0)]
    positions = np.r_[np.arange(600), np.arange(100)]
    windows = np.r_[np.zeros(600, int), np.ones(100, int)]
    assert by_band(nll, positions)["0-128"] == pytest.approx((128 + 500) / 228)  # the short window weighs in
    assert change_by_band(nll, positions, windows) == {"128-512": 1.0, "512-1024": 1.0, "1024-2048": None}


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


def test_the_longest_run_says_whose_piece_it_is():
    """A section repeated within one piece, with a statement in each split, is no copy of another piece."""
    rng = np.random.default_rng(2)
    section, other = 60 + rng.integers(0, 24, 30), 60 + rng.integers(0, 24, 30)
    repeat = _melody(section)                         # the repeat, in a train chunk of the piece 'bwv1'
    repeat.id, repeat.filename = "bwv1", "bwv1.mxl"
    elsewhere = _melody(other)
    elsewhere.id = "bwv2"
    grams = TrainGrams([intervals(repeat), intervals(elsewhere)], ids=[repeat.id, elsewhere.id])
    held_out = _melody(section[:20])                  # the first statement, in an eval chunk of the same piece
    held_out.id, held_out.filename = "bwv1", "bwv1.mxl"
    same = copy_measures([held_out, _melody(60 + rng.integers(0, 24, 20))], grams)
    assert (same["longest_run_notes_max"], same["longest_run_piece"], same["longest_run_same_piece"]) == (
        20, "bwv1.mxl", True)
    quoted = _melody(other[:15])                      # another piece's music
    quoted.id, quoted.filename = "bwv3", "bwv3.mxl"
    assert copy_measures([quoted], grams)["longest_run_same_piece"] is False
    assert grams.owners(intervals(quoted), notes=15) == {"bwv2"}
