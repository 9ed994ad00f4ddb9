"""Plots: a PNG for MIDI and for audio, clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from composer.audio_io import write_audio
from composer.errors import RenderError
from composer.render.plots import plot_file

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_piano_roll_png(tmp_path: Path, scale: pretty_midi.PrettyMIDI, drums: pretty_midi.PrettyMIDI) -> None:
    scale.instruments += drums.instruments
    scale.write(str(tmp_path / "song.mid"))
    out = plot_file(tmp_path / "song.mid", out=tmp_path / "pics" / "roll.png")
    assert out == tmp_path / "pics" / "roll.png"
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 5000


def test_waveform_and_spectrogram_png(tmp_path: Path) -> None:
    t = np.arange(22050) / 22050
    write_audio(tmp_path / "chirp.flac", (0.5 * np.sin(2 * np.pi * (200 + 2000 * t) * t)).astype(np.float32), 22050)
    out = plot_file(tmp_path / "chirp.flac", out=tmp_path / "chirp.png")
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 5000


@pytest.mark.parametrize("name, content, message", [
    ("missing.mid", None, "missing.mid: file not found"),
    ("notes.txt", b"hello", r"notes.txt: cannot plot '.txt' files"),
    ("junk.mid", b"junk", "junk.mid: cannot read MIDI"),
])
def test_plot_errors(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(RenderError, match=message):
        plot_file(tmp_path / name, out=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
