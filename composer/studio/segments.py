"""One radio segment: continue the previous one (its tail as primer), render it, layer a texture under it.

Each segment is ``composer.generate.generate`` primed with the last ``PRIMER_S`` seconds of the
previous segment's notes, then rendered with fluidsynth. The new material starts where the
primer ends (``composer.generate.primer_end_s``); the ``CROSSFADE_S`` that ring after it fade
out under the next segment's start (the radio joins them with the render stage's equal-power
``crossfade``), so joins keep sounding. An optional texture from an
audio run runs underneath as one continuous layer at a loudness relative to the music (the
render stage's ``layer_under``), made in long blocks (each continuing the last) because loading
an audio run costs seconds per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi

from composer.atomic import atomic_file
from composer.audio_io import read_audio, write_audio
from composer.generate import generate, primer_end_s
from composer.render.mixer import layer_under
from composer.render.synth import render_midi
from composer.studio.jobs import GENERATE_LOCK

SAMPLE_RATE = 44100
SEGMENT_S = 6.0     # new material per segment
PRIMER_S = 4.0      # tail of the previous segment the model continues
CROSSFADE_S = 1.0   # the previous segment's release tail fades out under the new one
TEXTURE_BLOCK_S = 60.0  # texture made per call


@dataclass(frozen=True)
class Settings:
    """What the listener controls; read once per segment."""

    run_dir: Path
    temperature: float = 1.0
    key: str | None = None
    density: float | None = None
    texture_dir: Path | None = None  # an audio run layered underneath
    texture_db: float = -12.0  # the texture's loudness (LU) relative to the segment's music


@dataclass
class Segment:
    """A rendered segment: ``body`` [n, 2] is its new material, ``tail`` [CROSSFADE, 2] what rings after."""

    midi: Path
    body: np.ndarray
    tail: np.ndarray


def make_segment(settings: Settings, folder: Path, index: int, previous: Path | None) -> Segment:
    """Generate and render segment ``index`` into ``folder``, continuing the MIDI ``previous``."""
    options: dict[str, Any] = {"seconds": SEGMENT_S, "temperature": settings.temperature, "seed": index}
    if settings.key:
        options["key"] = [settings.key]
    if settings.density:
        options["density"] = [settings.density]
    if previous is not None:
        options["primer"] = write_primer(previous, folder / f"primer-{index}.mid")
    with GENERATE_LOCK:
        (midi,) = generate(settings.run_dir, out=folder / f"segment-{index}.mid", **options)
    audio = render_midi(midi, sample_rate=SAMPLE_RATE)
    start = round(primer_end_s(midi) * SAMPLE_RATE) if previous is not None else 0
    body_n, fade_n = int(SEGMENT_S * SAMPLE_RATE), int(CROSSFADE_S * SAMPLE_RATE)
    new = _fit(audio[start:], body_n + fade_n)
    return Segment(midi, new[:body_n], new[body_n:])


def write_primer(midi: Path, out: Path) -> Path:
    """The last PRIMER_S seconds of ``midi``'s notes (shifted to start at 0) as a MIDI file."""
    source = pretty_midi.PrettyMIDI(str(midi))
    end = primer_end_s(midi) + SEGMENT_S  # where the new material of ``midi`` stops
    begin = end - PRIMER_S
    primer = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    track = pretty_midi.Instrument(program=0)
    for inst in source.instruments:
        track.notes.extend(pretty_midi.Note(n.velocity, n.pitch, n.start - begin, min(n.end, end) - begin)
                           for n in inst.notes if begin <= n.start < end)
    if not track.notes:  # a silent tail: give the model one soft note to continue from
        track.notes.append(pretty_midi.Note(60, 60, 0.0, 0.5))
    primer.instruments.append(track)
    with atomic_file(out) as handle:
        primer.write(handle)
    return out


class Texture:
    """A continuous ambient layer from an audio run, made ``TEXTURE_BLOCK_S`` at a time, each block
    continuing the last (its final second as the primer)."""

    def __init__(self, run_dir: Path, folder: Path) -> None:
        self.run_dir, self.folder = run_dir, folder
        self._audio = np.zeros(0, np.float32)  # mono at SAMPLE_RATE, not yet used
        self._last = self._audio  # the last second of the latest block: the next block's primer
        self._blocks = 0

    def under(self, music: np.ndarray, *, level_db: float) -> np.ndarray:
        """``music`` [n, 2] with the next n frames of texture added ``level_db`` LU from the music's loudness."""
        while len(self._audio) < len(music):
            self._audio = np.concatenate([self._audio, self._block()])
        layer, self._audio = self._audio[:len(music)], self._audio[len(music):]
        return layer_under(music, np.repeat(layer[:, None], 2, axis=1), level_db=level_db, sample_rate=SAMPLE_RATE)

    def _block(self) -> np.ndarray:
        index, self._blocks = self._blocks, self._blocks + 1
        options: dict[str, Any] = {"seconds": TEXTURE_BLOCK_S, "seed": index}
        if index:
            primer = self.folder / f"texture-primer-{index}.wav"
            write_audio(primer, self._last, SAMPLE_RATE, sync=False)
            options["primer"] = primer
        with GENERATE_LOCK:
            (wav,) = generate(self.run_dir, out=self.folder / f"texture-{index}.wav", **options)
        audio, _ = read_audio(wav, sample_rate=SAMPLE_RATE)
        self._last = audio[-SAMPLE_RATE:]
        return audio


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    """``audio`` [m, 2] cut or zero-padded to exactly n frames (float32)."""
    out = np.zeros((n, 2), np.float32)
    out[:min(n, len(audio))] = audio[:n]
    return out
