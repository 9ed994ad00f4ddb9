"""MIDI to MusicXML: the notes survive, the file is whole or absent."""

from __future__ import annotations

import music21

from composer.render.notation import write_musicxml


def test_a_scale_round_trips_through_musicxml(tmp_path, scale):
    midi = tmp_path / "scale.mid"
    scale.write(str(midi))
    out = write_musicxml(midi, tmp_path / "scale.musicxml")
    assert out == tmp_path / "scale.musicxml" and not list(tmp_path.glob(".*.tmp.musicxml"))
    score = music21.converter.parse(str(out)).stripTies()  # a note across a bar line is written tied
    pitches = [n.pitch.midi for n in score.recurse().notes]
    assert pitches == [note.pitch for note in scale.instruments[0].notes]
