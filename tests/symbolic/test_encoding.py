"""Performance encoding: Magenta's class indices, round trips, checked events."""

from __future__ import annotations

import numpy as np
import pytest
from note_seq import midi_io, performance_lib, sequences_lib
from note_seq.performance_encoder_decoder import PerformanceOneHotEncoding
from note_seq.protobuf import music_pb2

from composer.errors import ConfigError
from composer.symbolic.encoding import NOTE_ON, TIME_SHIFT, VELOCITY, Event, PerformanceEncoding


def random_sequence(rng: np.random.Generator, n_notes: int = 30, seconds: float = 8.0) -> music_pb2.NoteSequence:
    """Overlapping notes (same pitches repeat) with random velocities and lengths."""
    sequence = music_pb2.NoteSequence()
    for _ in range(n_notes):
        start = rng.uniform(0, seconds)
        sequence.notes.add(pitch=int(rng.integers(40, 80)), velocity=int(rng.integers(1, 128)),
                           start_time=start, end_time=start + rng.uniform(0.005, 2.5))
    sequence.total_time = max(n.end_time for n in sequence.notes)
    return sequence


@pytest.mark.parametrize("velocity_bins, num_classes", [(32, 388), (0, 356), (16, 372)])
def test_same_indices_as_note_seq(velocity_bins, num_classes):
    rng = np.random.default_rng(velocity_bins)
    ours, theirs = PerformanceEncoding(velocity_bins=velocity_bins), PerformanceOneHotEncoding(velocity_bins)
    assert ours.num_classes == theirs.num_classes == num_classes
    for _ in range(10):
        sequence = random_sequence(rng)
        quantized = sequences_lib.quantize_note_sequence_absolute(sequence, 100)
        performance = performance_lib.Performance(quantized, num_velocity_bins=velocity_bins)
        expected = [theirs.encode_event(event) for event in performance]
        np.testing.assert_array_equal(ours.encode(sequence), expected)
        for index in expected[:20]:
            event = theirs.decode_event(index)
            assert ours.event_to_class(Event(ours.class_to_event(index).kind, event.event_value)) == index


def test_round_trip_within_10_ms(make_midi, tmp_path):
    sequence = midi_io.midi_file_to_note_sequence(str(make_midi(tmp_path / "scale.mid", note_s=0.237, repeats=3)))
    encoding = PerformanceEncoding()
    decoded = encoding.decode(encoding.encode(sequence))
    original = sorted(sequence.notes, key=lambda n: (n.start_time, n.pitch))
    assert len(decoded.notes) == len(original)
    for got, want in zip(decoded.notes, original):
        assert got.pitch == want.pitch
        assert abs(got.start_time - want.start_time) <= 0.005 + 1e-9
        assert abs(got.end_time - want.end_time) <= 0.01
        assert abs(got.velocity - want.velocity) < 4  # one 32-bin velocity step


def test_long_gaps_split_into_100_step_shifts():
    encoding = PerformanceEncoding(velocity_bins=0)
    sequence = music_pb2.NoteSequence()
    sequence.notes.add(pitch=60, velocity=80, start_time=2.5, end_time=2.6)
    events = encoding.encode(sequence)
    kinds = [encoding.class_to_event(int(e)) for e in events]
    assert kinds[:3] == [Event(TIME_SHIFT, 100), Event(TIME_SHIFT, 100), Event(TIME_SHIFT, 50)]
    assert kinds[3] == Event(NOTE_ON, 60)


def test_drums_dropped_programs_and_sustain():
    sequence = music_pb2.NoteSequence()
    sequence.notes.add(pitch=36, velocity=100, start_time=0.0, end_time=0.1, is_drum=True, program=0)
    sequence.notes.add(pitch=60, velocity=100, start_time=0.0, end_time=0.5, program=0)
    sequence.notes.add(pitch=72, velocity=100, start_time=0.0, end_time=0.5, program=40, instrument=1)
    sequence.control_changes.add(time=0.0, control_number=64, control_value=127)
    sequence.control_changes.add(time=2.0, control_number=64, control_value=0)
    sequence.total_time = 2.0
    merged = PerformanceEncoding().notes(sequence)
    assert sorted(merged[:, 2]) == [60, 72]
    assert merged[:, 1].max() == 200  # held by the pedal until 2 s
    assert PerformanceEncoding(sustain=False).notes(sequence)[:, 1].max() == 50
    assert list(PerformanceEncoding(program=40).notes(sequence)[:, 2]) == [72]


def test_stuck_notes_end_at_max_length():
    encoding = PerformanceEncoding()
    events = np.array([encoding.event_to_class(Event(NOTE_ON, 60))] + [encoding.shift_offset + 99] * 8)
    notes = encoding.decode_notes(events, max_note_s=5.0)
    assert notes.tolist() == [[0, 500, 60, 100]]
    assert encoding.decode_notes(events)[0, 1] == 800


@pytest.mark.parametrize("kind, value, ok", [
    (NOTE_ON, 0, True), (NOTE_ON, 128, False), (TIME_SHIFT, 100, True), (TIME_SHIFT, 0, False),
    (VELOCITY, 1, True), ("pedal", 1, False)])
def test_event_checks(kind, value, ok):
    if ok:
        assert Event(kind, value).value == value
    else:
        with pytest.raises(ValueError):
            Event(kind, value)


def test_bad_options_and_classes():
    with pytest.raises(ConfigError, match="velocity_bins"):
        PerformanceEncoding(velocity_bins=-1)
    with pytest.raises(ValueError, match="0..387"):
        PerformanceEncoding().decode(np.array([400]))
