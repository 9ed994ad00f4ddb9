"""`composer transcribe FILE --out FILE.mid` and `composer corpus transcribe NAME` from the command line."""

from __future__ import annotations

import json
import sys

import numpy as np
import pretty_midi
import pytest

from composer.cli import main

from .conftest import CHORD, SAMPLE_RATE


def run(argv: list, capfd, monkeypatch) -> tuple[int, str]:
    """The console entry point in this process: (exit code, stdout + stderr)."""
    monkeypatch.setattr(sys, "argv", ["composer", *map(str, argv)])
    with pytest.raises(SystemExit) as stopped:
        main()
    captured = capfd.readouterr()
    return stopped.value.code, captured.out + captured.err


def test_one_recording_becomes_an_editable_midi_file(tmp_path, chord_audio, write_wav, capfd, monkeypatch):
    out = tmp_path / "out" / "chord.mid"
    code, output = run(["transcribe", write_wav("chord.wav", chord_audio), "--out", out], capfd, monkeypatch)
    assert code == 0 and output.startswith(f"{out}: ") and "notes over 2.3 s" in output
    pm = pretty_midi.PrettyMIDI(str(out))
    [track] = pm.instruments
    held = {note.pitch for note in track.notes if note.end - note.start > 0.3}
    assert held == set(CHORD) and track.program == 0


@pytest.mark.parametrize("make, out_name, message", [
    ("missing", "x.mid", "missing.wav: no such file"),
    ("bad", "x.mid", "bad.wav: cannot read audio"),
    ("silence", "x.mid", "silence.wav: silent (peak -inf dBFS): no notes to transcribe"),
    ("noise", "x.mid", "noise.wav: sounds like noise, not pitched music"),
    ("chord", "x.wav", "x.wav: --out must be a MIDI file name ending in .mid"),
])
def test_bad_input_is_one_line_and_exit_code_1(tmp_path, chord_audio, write_wav, capfd, monkeypatch, make,
                                               out_name, message):
    made = {"missing": lambda: tmp_path / "missing.wav",
            "bad": lambda: _written(tmp_path / "bad.wav", b"RIFF\x00\x00junk" * 20),
            "silence": lambda: write_wav("silence.wav", np.zeros(SAMPLE_RATE, np.float32)),
            "noise": lambda: write_wav("noise.wav", 0.2 * np.random.default_rng(0).standard_normal(SAMPLE_RATE)),
            "chord": lambda: write_wav("chord.wav", chord_audio)}
    source = made[make]()
    code, output = run(["transcribe", source, "--out", tmp_path / out_name], capfd, monkeypatch)
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], output
    assert not (tmp_path / out_name).exists()


def _written(path, content: bytes):
    path.write_bytes(content)
    return path


def test_corpus_transcribe_and_info_show_the_transcribed_share(tmp_path, chord_audio, write_wav, capfd, monkeypatch):
    root = tmp_path / "corpora"
    songs = [write_wav("songs/chord.wav", chord_audio), write_wav("songs/silence.wav", np.zeros(SAMPLE_RATE))]
    assert run(["corpus", "import", songs[0].parent, "--corpus", "s", "--root", root], capfd, monkeypatch)[0] == 0
    code, output = run(["corpus", "transcribe", "s", "--root", root], capfd, monkeypatch)
    assert code == 0 and "1 imported, 0 skipped, 1 errors" in output
    assert "silence.wav (transcribed): silent (peak -inf dBFS)" in output
    code, output = run(["corpus", "info", "s", "--root", root], capfd, monkeypatch)
    assert code == 0 and "1/2 recordings transcribed" in output
    code, output = run(["corpus", "info", "s", "--root", root, "--json"], capfd, monkeypatch)
    assert json.loads(output)["transcribed"] == {"recordings": 2, "transcribed": 1, "share": 0.5}
    code, output = run(["corpus", "transcribe", "missing", "--root", root], capfd, monkeypatch)
    assert code == 1 and output.startswith("error: no corpus 'missing'")
