"""Importing symbolic and audio files: round trips, formats, statistics, idempotence."""

from __future__ import annotations

import shutil

import note_seq
import numpy as np
import pretty_midi
import pytest

from composer.corpus import Corpus, list_corpora
from composer.corpus.tfrecord import read_records, write_records
from composer.errors import CorpusError


def test_midi_round_trip_keeps_pitch_velocity_and_timing(corpus_root, tmp_path, make_midi):
    src = make_midi(tmp_path / "scale.mid", note_s=0.37)
    corpus = Corpus.create("c", root=corpus_root)
    assert corpus.import_paths([src]).line().startswith("1 imported, 0 skipped")
    (sequence,) = list(corpus.sequences("train")) + list(corpus.sequences("eval"))
    note_seq.sequence_proto_to_midi_file(sequence, str(tmp_path / "back.mid"))
    original = pretty_midi.PrettyMIDI(str(src)).instruments[0].notes
    back = pretty_midi.PrettyMIDI(str(tmp_path / "back.mid")).instruments[0].notes
    assert [(n.pitch, n.velocity) for n in back] == [(n.pitch, n.velocity) for n in original]
    np.testing.assert_allclose([(n.start, n.end) for n in back], [(n.start, n.end) for n in original], atol=1e-3)


def test_symbolic_statistics(corpus_root, tmp_path, make_midi):
    src = make_midi(tmp_path / "scale.mid", pitches=(48, 60, 79), velocity=100)
    corpus = Corpus.create("c", root=corpus_root)
    corpus.import_paths([src])
    (row,) = corpus.items("symbolic")
    assert (row["notes"], row["pitch_min"], row["pitch_max"]) == (3, 48, 79)
    assert (row["velocity_min"], row["velocity_max"], row["instruments"]) == (60, 100, 1)
    assert row["format"] == "midi" and row["duration_s"] == pytest.approx(1.4)
    stored = note_seq.NoteSequence.FromString(next(read_records(corpus.item_path(row))))
    assert [n.pitch for n in stored.notes] == [48, 60, 79] and stored.id == row["id"]


# Written by tf.io.TFRecordWriter (TensorFlow 2.21) for the records b"hello" and b"".
TF_WRITTEN = bytes.fromhex("0500000000000000eab2043e68656c6c6fbb1f1c19000000000000000029039807d8ea82a2")


def test_tfrecord_bytes_match_tensorflow(tmp_path):
    path = write_records(tmp_path / "r.tfrecord", [b"hello", b""])
    assert path.read_bytes() == TF_WRITTEN
    assert list(read_records(path)) == [b"hello", b""]
    (tmp_path / "bad.tfrecord").write_bytes(TF_WRITTEN[:-1])
    with pytest.raises(CorpusError, match="corrupt TFRecord"):
        list(read_records(tmp_path / "bad.tfrecord"))


def test_musicxml_and_abc_import(corpus_root, tmp_path, bach_corpus):
    abc = tmp_path / "tunes.abc"
    abc.write_text("X:1\nT:Up\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|\n\nX:2\nT:Down\nM:4/4\nL:1/4\nK:C\ncBAG|FEDC|\n")
    mxl = bach_corpus.items()[0]["source"]
    corpus = Corpus.create("c", root=corpus_root)
    summary = corpus.import_paths([abc, mxl])
    assert (summary.imported, summary.errors) == (3, [])
    formats = sorted(row["format"] for row in corpus.items())
    assert formats == ["abc", "abc", "musicxml"]
    tunes = [row for row in corpus.items() if row["format"] == "abc"]
    assert sorted(row["source"].split("#")[1] for row in tunes) == ["X:1", "X:2"]
    assert all(row["notes"] == 8 for row in tunes)


def test_abc_tunes_note_seq_rejects_are_read_by_music21(corpus_root, tmp_path):
    abc = tmp_path / "rests.abc"  # note_seq's ABC parser rejects rests ('z') and tuplets
    abc.write_text("X:1\nT:Rests\nM:4/4\nL:1/4\nQ:1/4=60\nK:C\nC z E z|G4|\n\nX:2\nT:Triplet\nL:1/4\nK:C\nC (3DEF G|\n")
    corpus = Corpus.create("c", root=corpus_root)
    assert corpus.import_paths([abc]).imported == 2
    rests = next(row for row in corpus.items() if row["source"].endswith("#X:1"))
    sequence = note_seq.NoteSequence.FromString(next(read_records(corpus.item_path(rests))))
    notes = [(n.pitch, n.start_time, n.end_time) for n in sequence.notes]
    assert notes == [(60, 0.0, 1.0), (64, 2.0, 3.0), (67, 4.0, 8.0)]  # a quarter is 1 s at Q:1/4=60


@pytest.mark.parametrize("rate, channels, subtype", [
    (44100, 2, "PCM_16"),   # stereo CD audio
    (48000, 1, "PCM_24"),   # 24-bit
    (22050, 1, "PCM_U8"),   # 8-bit
    (96000, 2, "FLOAT"),    # 96 kHz float stereo
])
def test_wav_any_rate_depth_and_channels_stored_mono_at_corpus_rate(corpus_root, tmp_path, make_wav,
                                                                    rate, channels, subtype):
    src = make_wav(tmp_path / "chirp.wav", seconds=2.0, sample_rate=rate, channels=channels, subtype=subtype)
    corpus = Corpus.create("c", root=corpus_root, sample_rate=16000)
    assert corpus.import_paths([src]).imported == 1
    (row,) = corpus.items("audio")
    assert (row["source_sample_rate"], row["channels"]) == (rate, channels)
    assert row["duration_s"] == pytest.approx(2.0, abs=1e-3)
    assert row["peak"] == pytest.approx(0.5, abs=0.03) and row["rms"] == pytest.approx(0.5 / np.sqrt(2), abs=0.02)
    chunks = list(corpus.audio("train")) + list(corpus.audio("eval"))
    audio = np.concatenate(chunks)
    assert audio.dtype == np.float32 and audio.ndim == 1 and len(audio) == 32000
    spectrum = np.abs(np.fft.rfft(audio[:16000]))  # first second sweeps 220 -> 550 Hz
    peak_hz = np.argmax(spectrum)  # 1 Hz bins over one second
    assert 220 <= peak_hz <= 550


@pytest.mark.parametrize("suffix, subtype", [(".flac", "PCM_16"), (".ogg", "VORBIS"), (".aiff", "PCM_16"),
                                             (".mp3", "MPEG_LAYER_III")])
def test_other_audio_formats(corpus_root, tmp_path, make_wav, suffix, subtype):
    src = make_wav(tmp_path / f"chirp{suffix}", seconds=1.5, sample_rate=44100, channels=2, subtype=subtype)
    corpus = Corpus.create("c", root=corpus_root)
    assert corpus.import_paths([src], strict=True).imported == 1
    (row,) = corpus.items("audio")
    assert row["format"] == suffix[1:] and row["duration_s"] == pytest.approx(1.5, abs=0.06)  # mp3 pads frames
    assert row["peak"] == pytest.approx(0.5, abs=0.08)


def test_same_file_twice_is_stored_once(corpus_root, tmp_path, make_midi):
    src = make_midi(tmp_path / "a" / "scale.mid")
    shutil.copy(src, tmp_path / "a" / "copy.mid")
    corpus = Corpus.create("c", root=corpus_root)
    first = corpus.import_paths([tmp_path / "a"])
    assert (first.imported, first.skipped) == (1, 1)
    again = corpus.import_paths([src])
    assert (again.imported, again.skipped) == (0, 1)
    assert len(corpus.items()) == 1


def test_parallel_import_matches_serial(corpus_root, tmp_path, make_midi):
    for i in range(6):
        make_midi(tmp_path / "src" / f"s{i}.mid", pitches=(50 + i, 60 + i, 70), repeats=i + 1)
    serial = Corpus.create("serial", root=corpus_root)
    parallel = Corpus.create("parallel", root=corpus_root)
    assert serial.import_paths([tmp_path / "src"], jobs=1).imported == 6
    assert parallel.import_paths([tmp_path / "src"], jobs=2, progress=True).imported == 6
    assert [r["id"] for r in serial.items()] == [r["id"] for r in parallel.items()]
    assert serial.fingerprint() == parallel.fingerprint()


def test_hidden_files_skipped_and_other_types_ignored_in_folders(corpus_root, tmp_path, make_midi):
    make_midi(tmp_path / "src" / "ok.mid")
    make_midi(tmp_path / "src" / ".hidden" / "no.mid", pitches=(40,))
    (tmp_path / "src" / "README.txt").write_text("notes about the files")
    summary = Corpus.create("c", root=corpus_root).import_paths([tmp_path / "src"], strict=True)
    assert (summary.imported, summary.errors, summary.ignored) == (1, [], 1)


def test_info_keys_list_and_open(corpus_root, tmp_path, make_midi, make_wav):
    corpus = Corpus.create("mixed", root=corpus_root)
    corpus.import_paths([make_midi(tmp_path / "s.mid"), make_wav(tmp_path / "c.wav", seconds=36.0, sample_rate=8000)])
    with pytest.raises(CorpusError, match="missing.mid: no such file or folder"):
        corpus.import_paths([tmp_path / "s.mid", tmp_path / "missing.mid"])
    info = Corpus.open("mixed", root=corpus_root).info()
    assert {"name", "items", "splits", "hours_audio", "notes", "errors"} <= set(info)
    assert info["items"] == {"total": 2, "symbolic": 1, "audio": 1}
    assert info["splits"]["eval"] >= 1 and info["splits"]["train"] >= 2  # the 36 s clip holds out 3.6 s
    assert info["hours_audio"] == pytest.approx(36.0 / 3600) and info["notes"] == 8
    assert info["errors"] == []  # a missing path stops the import before it starts, nothing stored
    assert list_corpora(root=corpus_root) == [{"name": "mixed", "items": 2, "path": str(corpus.path)}]
    assert corpus.cache_dir.is_dir()


def test_open_and_create_errors_name_the_problem(corpus_root, monkeypatch):
    Corpus.create("there", root=corpus_root)
    with pytest.raises(CorpusError, match=r"no corpus 'nope' under .*available: there"):
        Corpus.open("nope", root=corpus_root)
    with pytest.raises(CorpusError, match="sample_rate=16000 \\(asked 22050\\)"):
        Corpus.create("there", root=corpus_root, sample_rate=22050)
    with pytest.raises(CorpusError, match="split_unit must be one of chunk, item"):
        Corpus.create("other", root=corpus_root, split_unit="song")
    with pytest.raises(CorpusError, match="bad corpus name"):
        Corpus.create("../escape", root=corpus_root)
    monkeypatch.setenv("COMPOSER_CORPUS_ROOT", str(corpus_root))
    assert Corpus.open("there").path == corpus_root / "there"
