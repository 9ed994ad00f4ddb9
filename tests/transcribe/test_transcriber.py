"""Basic Pitch through composer.transcribe: a rendered chord comes back as its notes, bad recordings
give one line naming the file, and segmented decoding agrees with decoding the piece whole."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from note_seq.protobuf import music_pb2

from composer.errors import ComposerError, TranscriptionError
from composer.transcribe import NoteOptions, transcribe_audio, transcribe_file, transcriber
from composer.transcribe.score import note_scores

from .conftest import CHORD, CHORD_S, SAMPLE_RATE, chord_midi, rendered


def held_notes(sequence, *, min_s: float = 0.3) -> list:
    return [note for note in sequence.notes if note.end_time - note.start_time >= min_s]


def test_a_rendered_chord_comes_back_as_its_notes(chord_audio, write_wav):
    sequence = transcribe_file(write_wav("chord.wav", chord_audio))
    held = held_notes(sequence)
    assert sorted(note.pitch for note in held) == list(CHORD)
    for note in held:
        assert abs(note.start_time - CHORD_S[0]) < 0.05  # onsets within 50 ms
        assert CHORD_S[1] - 0.1 < note.end_time < CHORD_S[1] + 0.5  # the release rings on a little
        assert 40 <= note.velocity <= 127 and note.program == 0
    assert sequence.total_time == pytest.approx(len(chord_audio) / SAMPLE_RATE, abs=1e-3)


def test_the_file_and_the_array_give_the_same_notes(chord_audio, write_wav):
    from_file = transcribe_file(write_wav("chord.wav", chord_audio))
    from_array = transcribe_audio(chord_audio, SAMPLE_RATE)
    # the file holds 16-bit samples, resampled block by block: the same notes, onsets within a frame
    file_notes, array_notes = held_notes(from_file), held_notes(from_array)
    assert [n.pitch for n in file_notes] == [n.pitch for n in array_notes]
    assert max(abs(a.start_time - b.start_time) for a, b in zip(file_notes, array_notes)) < 0.012


def test_a_one_second_clip_gives_the_chord_cut_at_its_end(chord_audio, write_wav):
    sequence = transcribe_file(write_wav("clip.wav", chord_audio[:SAMPLE_RATE]))
    assert {n.pitch for n in held_notes(sequence)} == set(CHORD)
    assert max(n.end_time for n in sequence.notes) <= 1.0 == sequence.total_time


def test_a_melody_in_another_register_is_found_and_scored(write_wav):
    """A bass line and a melody, in turn, on a violin: pitches outside the chord's octave."""
    import pretty_midi

    pm = chord_midi((), program=40)
    reference = music_pb2.NoteSequence()
    for i, pitch in enumerate((43, 47, 50, 55, 74, 79, 83, 86)):
        start, end = 0.3 + 0.5 * i, 0.7 + 0.5 * i
        pm.instruments[0].notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=start, end=end))
        reference.notes.add(pitch=pitch, start_time=start, end_time=end, velocity=90)
    estimate = transcribe_audio(rendered(pm), SAMPLE_RATE)
    assert note_scores(reference, estimate)["onset"]["recall"] >= 0.85


def test_segments_agree_with_a_whole_decode(monkeypatch):
    """A piece decoded in 3-second segments (1 s margins) finds what one decode of it finds."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    rng = np.random.default_rng(0)
    for i in range(40):  # 20 s of two-note chords
        for pitch in rng.choice(np.arange(48, 80), size=2, replace=False):
            piano.notes.append(pretty_midi.Note(velocity=80, pitch=int(pitch), start=0.5 * i, end=0.5 * i + 0.4))
    pm.instruments.append(piano)
    audio = rendered(pm)
    whole = transcribe_audio(audio, SAMPLE_RATE)
    monkeypatch.setattr(transcriber, "SEGMENT_S", 3.0)
    monkeypatch.setattr(transcriber, "MARGIN_S", 1.0)
    segmented = transcribe_audio(audio, SAMPLE_RATE)
    assert len(whole.notes) > 60
    assert note_scores(whole, segmented)["onset"]["f1"] >= 0.95


def noise(seconds: float) -> np.ndarray:
    return (0.2 * np.random.default_rng(0).standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


@pytest.mark.parametrize("name, make, error, reason", [
    ("silence.wav", lambda chord: np.zeros(3 * SAMPLE_RATE, np.float32), TranscriptionError,
     r"silent \(peak -inf dBFS\): no notes to transcribe"),
    ("hum.wav", lambda chord: np.full(3 * SAMPLE_RATE, 1e-4, np.float32), TranscriptionError, r"silent \(peak -80"),
    ("noise.wav", lambda chord: noise(3.0), TranscriptionError,
     r"sounds like noise, not pitched music \(spectral flatness 0\.\d\d; music is below 0\.3\)"),
    ("short.wav", lambda chord: chord[int(0.5 * SAMPLE_RATE):int(0.8 * SAMPLE_RATE)], TranscriptionError,
     r"too short to transcribe \(0\.30 s; at least 0\.5 s\)"),
    ("whistle.wav", lambda chord: 0.3 * np.sin(2 * np.pi * 10_000 * np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE),
     TranscriptionError, r"no notes found in 3\.0 s"),  # a tone far above the piano's 88 keys
])
def test_recordings_with_nothing_to_transcribe_give_one_line(chord_audio, write_wav, name, make, error, reason):
    path = write_wav(name, make(chord_audio))
    with pytest.raises(error, match=reason) as info:
        transcribe_file(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


@pytest.mark.parametrize("content, reason", [
    (None, "no such file"),
    (b"", "cannot read audio"),
    (b"RIFF\x00\x00junk" * 20, "cannot read audio"),
])
def test_unreadable_files_give_one_line(tmp_path, content, reason):
    path = tmp_path / "song.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ComposerError, match=reason) as info:
        transcribe_file(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


@pytest.mark.parametrize("field, value", [("onset_threshold", 0.0), ("frame_threshold", 1.5),
                                          ("min_note_s", -1.0)])
def test_options_reject_values_out_of_range(field, value):
    with pytest.raises(ComposerError, match=f"{field} must be"):
        NoteOptions(**{field: value})


def test_basic_pitch_is_used_without_tensorflow():
    """The package's __init__ (which imports TensorFlow to pick a model format) is not run."""
    import subprocess

    code = ("import sys; from composer.transcribe import transcribe_audio; import numpy as np; "
            "transcribe_audio(np.zeros(22050, np.float32) + 0.1 * np.sin(np.arange(22050) / 5), 22050); "
            "print('tensorflow' in sys.modules)")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    except subprocess.CalledProcessError as exc:  # nothing pitched in a sine at 700 Hz? then say what happened
        pytest.fail(exc.stderr[-2000:])
    assert out.strip().splitlines()[-1] == "False"


def test_a_machine_without_basic_pitch_is_told_how_to_install_it(monkeypatch):
    import importlib.util

    from composer.transcribe import upstream

    monkeypatch.delitem(sys.modules, "basic_pitch", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(ComposerError, match=r"Basic Pitch .* is not installed: run `make setup`, or `pip install "
                                            r"--no-deps basic-pitch==0\.4\.0 mir_eval resampy`"):
        upstream.model_path()
