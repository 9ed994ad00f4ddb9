"""``corpus transcribe``: a MIDI twin per recording, in the recording's split, resumable, failures
recorded with their reason, Ctrl-C within seconds."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from composer.corpus import Corpus
from composer.pipeline import render_audio, transcribe_corpus, twin_id

from .conftest import CHORD, SAMPLE_RATE, chord_midi, rendered

REPO = Path(__file__).resolve().parents[2]


def melody_midi(seconds: float, *, program: int = 0, low: int = 55) -> pretty_midi.PrettyMIDI:
    """A note every half second, up and down an octave and a half."""
    pm = chord_midi((), program=program)
    for i in range(int(seconds * 2)):
        pitch = low + abs((i % 36) - 18)
        pm.instruments[0].notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=0.5 * i, end=0.5 * i + 0.4))
    return pm


@pytest.fixture
def recordings(tmp_path, chord_audio, write_wav, make_midi):
    """Two recordings, a silent one and a MIDI file (whose rendering is no recording)."""
    folder = tmp_path / "songs"
    folder.mkdir()
    return [write_wav("songs/chord.wav", chord_audio), write_wav("songs/melody.wav", rendered(melody_midi(7.0))),
            write_wav("songs/silence.wav", np.zeros(2 * SAMPLE_RATE, np.float32)),
            make_midi(folder / "scale.mid")]


@pytest.mark.parametrize("jobs", [1, 2])
def test_each_recording_gets_a_midi_twin_with_its_split_and_chunks(corpus_root, recordings, jobs):
    corpus = Corpus.create("songs", root=corpus_root, sample_rate=16000, chunk_s=2.0, eval_ratio=0.3)
    corpus.import_paths([recordings[0].parent])
    assert render_audio(corpus).imported == 1  # the MIDI file's rendering: not transcribed below
    summary = transcribe_corpus(corpus, jobs=jobs)
    assert summary.imported == 2 and summary.skipped == 0
    [error] = summary.errors
    assert error["source"].endswith("silence.wav (transcribed)")
    assert error["reason"].startswith("silent (peak -inf dBFS)")  # the recording's name, not the stored FLAC's
    twins = {row["source_id"]: row for row in corpus.items("symbolic") if row["source_id"]}
    recorded = {row["id"]: row for row in corpus.items("audio") if row["source_id"] is None}
    assert set(twins) < set(recorded) and len(twins) == 2
    for source_id, twin in twins.items():
        source = recorded[source_id]
        assert twin["id"] == twin_id(source_id, kind="transcribe") and twin["format"] == "transcription"
        assert (twin["split_key"], twin["n_chunks"]) == (source["split_key"], source["n_chunks"])
        assert twin["duration_s"] == pytest.approx(source["duration_s"])
        assert corpus.chunks(twin, "eval") == corpus.chunks(source, "eval")  # the same seconds held out
        assert corpus.chunks(twin, "train") == corpus.chunks(source, "train")
    chord_twin = twins[next(i for i, r in recorded.items() if r["source"].endswith("chord.wav"))]
    assert set(CHORD) <= set(range(chord_twin["pitch_min"], chord_twin["pitch_max"] + 1))
    info = corpus.info()
    assert info["transcribed"] == {"recordings": 3, "transcribed": 2, "share": pytest.approx(2 / 3)}
    assert [e["source"] for e in info["errors"]] == [error["source"]]
    notes = sum(len(seq.notes) for split in ("train", "eval") for seq in corpus.sequences(split))
    assert notes >= 3 + 14  # the chord's notes and the melody's, read back through the splits


def test_rerunning_skips_what_is_done_and_retries_what_failed(corpus_root, recordings):
    corpus = Corpus.create("songs", root=corpus_root, sample_rate=16000)
    corpus.import_paths(recordings[:3])
    first = transcribe_corpus(corpus)
    stored = {row["id"]: corpus.item_path(row).stat().st_mtime_ns for row in corpus.items("symbolic")}
    again = transcribe_corpus(corpus)
    assert (first.imported, again.imported, again.skipped, len(again.errors)) == (2, 0, 2, 1)
    assert {row["id"]: corpus.item_path(row).stat().st_mtime_ns for row in corpus.items("symbolic")} == stored
    assert len(corpus.errors()) == 1  # the silent one, tried again, recorded once
    assert render_audio(corpus).imported == 0  # transcriptions are twins: never rendered back to audio


CLI = "from composer.cli import main; main()"


def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_a_parallel_transcription_within_seconds(tmp_path, write_wav):
    """SIGINT to the process group (as a terminal sends it) ends `corpus transcribe --jobs 2` with exit
    code 130; the twins committed are whole, and the next run does the rest."""
    corpus = Corpus.create("songs", root=tmp_path / "root", sample_rate=16000)
    corpus.import_paths([write_wav(f"song{i}.wav", rendered(melody_midi(25.0, low=50 + i))) for i in range(5)])
    argv = [sys.executable, "-c", CLI, "corpus", "transcribe", "songs", "--root", str(tmp_path / "root"),
            "--jobs", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 120
    while _twins(tmp_path / "root" / "songs") == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - sent < 5 and process.returncode == 130, (process.returncode, stderr)
    assert "Traceback" not in stderr
    done = corpus.items("symbolic")
    assert 0 < len(done) < 5 and all(corpus.item_path(row).is_file() for row in done)
    assert transcribe_corpus(corpus, jobs=2).imported == 5 - len(done)


def _twins(corpus_dir: Path) -> int:
    with contextlib.closing(sqlite3.connect(corpus_dir / "manifest.sqlite")) as conn:
        return conn.execute("SELECT COUNT(*) FROM items WHERE kind = 'symbolic'").fetchone()[0]
