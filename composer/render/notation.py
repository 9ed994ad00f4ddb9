"""MIDI to MusicXML for notation software (music21), written atomically.

A stateless conversion of the file it is given, like the rest of the render stage: the event
families write it beside a grid-snapped take (``--musicxml``), the studio for a kept one.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_musicxml(midi_path: str | Path, path: str | Path) -> Path:
    """Convert a (grid-snapped) MIDI file to MusicXML at ``path``; returns ``path``."""
    import music21

    score = music21.converter.parse(str(midi_path), quantizePost=True)
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.musicxml")
    score.write("musicxml", fp=str(tmp))
    os.replace(tmp, path)
    return path
