"""Long recordings in bounded memory: the windowing and the segmented note decoding, on synthetic
arrays (a two-hour stream is generated lazily, never held)."""

from __future__ import annotations

import numpy as np
import pytest

from composer.transcribe.chunks import Segmenter, batches, windows

SAMPLES, HOP, LEAD = 100, 70, 15  # a small geometry with Basic Pitch's shape (overlap, lead zeros)


def whole_file_windows(audio: np.ndarray) -> list[np.ndarray]:
    """Basic Pitch's windowing of a whole array (basic_pitch.inference.window_audio_file)."""
    padded = np.concatenate([np.zeros(LEAD, np.float32), audio])
    return [np.pad(padded[i:i + SAMPLES], (0, max(0, SAMPLES - len(padded[i:i + SAMPLES]))))
            for i in range(0, len(padded), HOP)]


@pytest.mark.parametrize("n_samples", [1, 84, 85, 86, 155, 1000, 1001])
@pytest.mark.parametrize("block", [1, 7, 100, 5000])
def test_windows_from_blocks_equal_the_whole_file_windows(n_samples, block):
    audio = np.random.default_rng(n_samples).standard_normal(n_samples).astype(np.float32)
    blocks = [audio[i:i + block] for i in range(0, n_samples, block)]
    got = list(windows(blocks, samples=SAMPLES, hop=HOP, lead=LEAD))
    want = whole_file_windows(audio)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_batches_keep_order_and_the_short_last_batch():
    got = list(batches((np.full(3, i) for i in range(10)), 4))
    assert [b.shape for b in got] == [(4, 3), (4, 3), (2, 3)]
    np.testing.assert_array_equal(np.concatenate(got)[:, 0], np.arange(10))


def runs(note: np.ndarray, onset: np.ndarray) -> list[tuple[int, int, int, float]]:
    """A stand-in decoder: a note per run of frames above 0.5 in a pitch column."""
    events = []
    for pitch in range(note.shape[1]):
        on = np.concatenate([[False], note[:, pitch] > 0.5, [False]])
        edges = np.flatnonzero(np.diff(on.astype(int)))
        events += [(int(start), int(end), pitch, 1.0) for start, end in zip(edges[::2], edges[1::2])]
    return events


def piece_frames(n_frames: int, *, pitches: int = 4, seed: int = 0) -> np.ndarray:
    """[n_frames, pitches] of notes 5 to 200 frames long with gaps between them."""
    rng = np.random.default_rng(seed)
    note = np.zeros((n_frames, pitches), np.float32)
    for pitch in range(pitches):
        t = int(rng.integers(0, 50))
        while t < n_frames:
            length = int(rng.integers(5, 200))
            note[t:t + length, pitch] = 1.0
            t += length + int(rng.integers(1, 100))
    return note


@pytest.mark.parametrize("push", [1, 37, 1136])
def test_segmented_decoding_finds_each_note_once_as_a_whole_decode_does(push):
    note = piece_frames(20_000)
    segmenter = Segmenter(runs, core=1000, margin=250)  # margin longer than any note: nothing is cut
    events = []
    for start in range(0, len(note), push):
        events += segmenter.push(note[start:start + push], note[start:start + push])
    events += segmenter.finish(len(note))
    assert sorted(events) == sorted(runs(note, note))
    assert segmenter.peak_frames <= 1000 + 2 * 250 + push


def test_frames_past_the_end_are_dropped_and_a_short_piece_is_one_decode():
    calls = []

    def counting(note, onset):
        calls.append(len(note))
        return runs(note, onset)

    note = piece_frames(900)
    segmenter = Segmenter(counting, core=1000, margin=250)
    assert segmenter.push(note, note) == []
    padded_tail = np.ones((60, note.shape[1]), np.float32)  # the last window's padding: not the piece
    assert segmenter.push(padded_tail, padded_tail) == []
    events = segmenter.finish(len(note))
    assert calls == [900] and sorted(events) == sorted(runs(note, note))


def test_two_hours_of_frames_stream_through_in_bounded_memory():
    """620,000 frames (two hours at 86 frames/s) of a note every 100 frames, generated batch by batch."""
    fps, batch = 86, 8 * 142  # Basic Pitch's frame rate; eight windows' kept frames per push
    n_frames = 2 * 3600 * fps
    core, margin = 60 * fps, 10 * fps
    segmenter = Segmenter(runs, core=core, margin=margin)
    count = 0
    for start in range(0, n_frames, batch):
        frame = np.arange(start, min(start + batch, n_frames))
        note = ((frame % 100) < 30).astype(np.float32)[:, None]  # a 30-frame note starting every 100
        count += len(segmenter.push(note, note))
    count += len(segmenter.finish(n_frames))
    assert count == n_frames // 100
    assert segmenter.peak_frames <= core + 2 * margin + batch  # about 6,300 frames, not 620,000


def test_a_note_longer_than_the_margin_is_cut_at_its_segment_end():
    note = np.zeros((5000, 1), np.float32)
    note[900:2500] = 1.0  # starts in the first core, runs 1,600 frames
    segmenter = Segmenter(runs, core=1000, margin=250)
    events = segmenter.push(note, note) + segmenter.finish(len(note))
    assert events == [(900, 1250, 0, 1.0)]  # found once, from the segment where it starts
