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


def test_piano_roll_names_notes_keeps_drums_apart_and_marks_the_primer(tmp_path: Path) -> None:
    """Issue 17 item 15: note names on the pitch axis, drums in their own lane, the primer's end drawn."""
    from composer.render.plots import piano_roll_figure

    pm = pretty_midi.PrettyMIDI()
    piano, kit = pretty_midi.Instrument(program=0), pretty_midi.Instrument(program=0, is_drum=True)
    piano.notes.extend(pretty_midi.Note(80, pitch, i * 0.5, i * 0.5 + 0.4) for i, pitch in enumerate(range(55, 75, 2)))
    kit.notes.extend(pretty_midi.Note(100, 36, i * 0.5, i * 0.5 + 0.1) for i in range(8))
    pm.instruments += [piano, kit]
    pm.text_events.append(pretty_midi.Text("end of primer", 2.0))
    pm.write(str(tmp_path / "song.mid"))
    fig = piano_roll_figure(tmp_path / "song.mid")
    pitch_ax, drum_ax = fig.axes
    assert [t.get_text() for t in pitch_ax.get_yticklabels()] == ["C4", "C5"]
    assert [t.get_text() for t in drum_ax.get_yticklabels()] == ["Bass Drum 1"]
    assert all(bar.get_y() + 0.4 != 36 for bar in pitch_ax.patches)  # the kick is not drawn as pitch 36
    for ax in fig.axes:
        (line,) = ax.get_lines()
        assert list(line.get_xdata()) == [2.0, 2.0]


def test_waveform_and_spectrogram_share_one_time_axis(tmp_path: Path) -> None:
    from composer.render.plots import audio_figure

    t = np.arange(3 * 8000) / 8000
    write_audio(tmp_path / "tone.wav", (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000)
    fig = audio_figure(tmp_path / "tone.wav")
    fig.canvas.draw()
    wave_ax, spec_ax = fig.axes[0], fig.axes[2]
    assert wave_ax.get_xlim() == spec_ax.get_xlim() == (0.0, 3.0)
    wave_box, spec_box = wave_ax.get_position(), spec_ax.get_position()
    assert (wave_box.x0, wave_box.x1) == pytest.approx((spec_box.x0, spec_box.x1))
