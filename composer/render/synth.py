"""MIDI to stereo audio with fluidsynth, in process.

The whole piece is flattened into one time-ordered table of channel events (absolute seconds
from pretty_midi, so tempo changes are already honoured), then fluidsynth renders straight into
one preallocated float32 buffer between event times. Memory stays at the size of the output,
unlike pretty_midi's render-each-instrument-and-sum.
"""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi
import scipy.signal

from composer.errors import RenderError
from composer.quiet import muted_stderr

DEFAULT_SOUNDFONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
DRUM_CHANNEL = 9  # MIDI channel 10
DRUM_BANK = 128
MAX_CHANNELS = 256  # fluidsynth's limit for synth.midi-channels
MAX_TAIL_S = 5.0  # release and reverb tails are rendered until silence, at most this long
SILENCE = 1e-4  # -80 dBFS: the tail ends when a block stays below this
_TAIL_BLOCK_S = 0.05
_INSTALL_HINT = "install it with `apt-get install libfluidsynth3` (Debian/Ubuntu) or `brew install fluid-synth`"

# Event kinds, in the order fluidsynth must see events that share a sample.
_CC, _BEND, _NOTE_OFF, _NOTE_ON = 0, 1, 2, 3
_SKIPPED_CCS = (0, 32)  # bank select: the bank is chosen explicitly per channel


@dataclass(frozen=True)
class _Channel:
    """One pretty_midi instrument placed on its own fluidsynth channel."""

    number: int
    bank: int
    program: int
    instrument: pretty_midi.Instrument


def render_midi(
    midi: Any,
    *,
    sample_rate: int = 44100,
    soundfont: str | os.PathLike | None = None,
    program: int | None = None,
    reverb: bool = True,
    chorus: bool = True,
) -> np.ndarray:
    """Synthesize MIDI to stereo float audio.

    Args:
      midi: a .mid path, a ``pretty_midi.PrettyMIDI`` or a note_seq ``NoteSequence``.
      sample_rate: output rate in Hz (8000 to 96000).
      soundfont: .sf2/.sf3 path; None takes the GM soundfont pretty_midi ships (TimGM6mb).
      program: GM program (0-127) that replaces every non-drum instrument's program.
      reverb, chorus: fluidsynth's effects.
    Returns:
      float32 [n_samples, 2]: the piece plus its release tail (at most 5 s), unclipped
      (peaks may pass 1.0 on very dense pieces).
    Raises:
      RenderError: unreadable MIDI, missing soundfont or fluidsynth library, bad option.
    """
    pm = as_pretty_midi(midi)
    if not 8000 <= int(sample_rate) <= 96000:
        raise RenderError(f"sample rate {sample_rate} Hz is out of range (8000 to 96000)")
    if program is not None and not 0 <= int(program) <= 127:
        raise RenderError(f"program {program} is out of range (0 to 127)")
    sf_path = Path(soundfont) if soundfont is not None else DEFAULT_SOUNDFONT
    if not sf_path.is_file():
        raise RenderError(f"{sf_path}: soundfont not found (pass an existing .sf2 or .sf3 file)")
    if pm.get_end_time() <= 0:  # no notes nor any other event: the output would hold no samples
        name = midi if isinstance(midi, (str, os.PathLike)) else "the MIDI"
        raise RenderError(f"{name}: no notes to render")
    channels = _assign_channels(pm, program)
    times, events = _event_table(channels)
    with _Synth(int(sample_rate), sf_path, n_channels=_channel_count(channels), reverb=reverb, chorus=chorus) as synth:
        for ch in channels:
            synth.select(ch.number, ch.bank, ch.program)
        end_sample = int(round(max(pm.get_end_time(), 0.0) * sample_rate))
        audio = synth.render(np.round(times * sample_rate).astype(np.int64), events, end_sample)
    return remove_dc(audio, sample_rate=int(sample_rate))


_DC_BLOCK = 1 << 16


def remove_dc(audio: np.ndarray, *, sample_rate: int, cutoff_hz: float = 20.0) -> np.ndarray:
    """High-pass ``audio`` ([n_samples, n_channels]) below ``cutoff_hz``, in place where possible.

    Some soundfont samples carry a DC offset (TimGM6mb's string ensemble: about 5% of its RMS),
    which wastes headroom in a mix and thumps at stem edges.
    """
    sos = scipy.signal.butter(2, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
    state = np.zeros((sos.shape[0], 2, audio.shape[1]))
    for begin in range(0, audio.shape[0], _DC_BLOCK):  # blocks keep peak memory near the output's size
        block = audio[begin:begin + _DC_BLOCK]
        block[:], state = scipy.signal.sosfilt(sos, block, axis=0, zi=state)
    return audio


def as_pretty_midi(midi: Any) -> pretty_midi.PrettyMIDI:
    """Accept a path, a PrettyMIDI or a NoteSequence; RenderError naming the file otherwise."""
    if isinstance(midi, pretty_midi.PrettyMIDI):
        return midi
    if type(midi).__name__ == "NoteSequence":
        from note_seq import midi_io

        return midi_io.sequence_proto_to_pretty_midi(midi)
    if isinstance(midi, (str, os.PathLike)):
        path = Path(midi)
        if not path.is_file():
            raise RenderError(f"{path}: MIDI file not found")
        try:
            return pretty_midi.PrettyMIDI(str(path))
        except Exception as exc:  # mido and pretty_midi raise many unrelated types
            reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            raise RenderError(f"{path}: cannot read MIDI ({reason})") from None
    raise RenderError(f"cannot render {type(midi).__name__}: pass a MIDI path, PrettyMIDI or NoteSequence")


def _assign_channels(pm: pretty_midi.PrettyMIDI, program: int | None) -> list[_Channel]:
    """Give each instrument its own channel: drums on 10 (and 26, 42, ...), the rest elsewhere.

    Past fluidsynth's 256 channels an instrument shares the channel of one with the same sound.
    """
    free = {True: [n for n in range(MAX_CHANNELS) if n % 16 == DRUM_CHANNEL],
            False: [n for n in range(MAX_CHANNELS) if n % 16 != DRUM_CHANNEL]}
    by_sound: dict[tuple[bool, int, int], int] = {}
    channels = []
    for inst in pm.instruments:
        bank = DRUM_BANK if inst.is_drum else _bank_of(inst)
        chosen = inst.program if inst.is_drum or program is None else int(program)
        sound = (inst.is_drum, bank, chosen)
        number = free[inst.is_drum].pop(0) if free[inst.is_drum] else by_sound.get(sound)
        if number is None:
            raise RenderError(f"MIDI has more distinct instruments than fluidsynth's {MAX_CHANNELS} channels")
        by_sound.setdefault(sound, number)
        channels.append(_Channel(number, bank, chosen, inst))
    return channels


def _bank_of(inst: pretty_midi.Instrument) -> int:
    """The bank-select MSB (CC 0) sent before the instrument's first note, else 0."""
    first_note = min((n.start for n in inst.notes), default=0.0)
    banks = [cc.value for cc in inst.control_changes if cc.number == 0 and cc.time <= first_note]
    return banks[-1] if banks else 0


def _channel_count(channels: list[_Channel]) -> int:
    """fluidsynth's channel count: a multiple of 16 covering every channel used."""
    highest = max((ch.number for ch in channels), default=0)
    return 16 * (highest // 16 + 1)


def _event_table(channels: list[_Channel]) -> tuple[np.ndarray, np.ndarray]:
    """All channel events in render order.

    Returns:
      times: float64 [n_events] seconds; events: int64 [n_events, 4] (kind, channel, a, b),
      sorted by time, then kind (controls and bends before note-offs before note-ons).
    """
    rows: list[tuple[float, int, int, int, int]] = []
    for ch in channels:
        c = ch.number
        for n in ch.instrument.notes:
            rows.append((n.start, _NOTE_ON, c, n.pitch, n.velocity))
            rows.append((n.end, _NOTE_OFF, c, n.pitch, 0))
        for cc in ch.instrument.control_changes:
            if cc.number not in _SKIPPED_CCS:
                rows.append((cc.time, _CC, c, cc.number, cc.value))
        for pb in ch.instrument.pitch_bends:
            rows.append((pb.time, _BEND, c, pb.pitch + 8192, 0))
    if not rows:
        return np.zeros(0), np.zeros((0, 4), dtype=np.int64)
    table = np.array(rows, dtype=np.float64)
    order = np.lexsort((table[:, 1], table[:, 0]))
    table = table[order]
    return table[:, 0], table[:, 1:].astype(np.int64)


@functools.lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    """The fluidsynth C library with the prototypes the render loop calls, logging silenced."""
    try:
        import fluidsynth  # pyfluidsynth: finds and loads libfluidsynth
    except (ImportError, OSError) as exc:
        raise RenderError(f"cannot load the fluidsynth library ({exc}); {_INSTALL_HINT}") from None
    lib = ctypes.CDLL(fluidsynth.lib)
    vp, i = ctypes.c_void_p, ctypes.c_int
    for name, args in {
        "fluid_synth_noteon": [vp, i, i, i],
        "fluid_synth_noteoff": [vp, i, i],
        "fluid_synth_cc": [vp, i, i, i],
        "fluid_synth_pitch_bend": [vp, i, i],
        "fluid_synth_program_select": [vp, i, i, i, i],
        "fluid_synth_write_float": [vp, i, vp, i, i, vp, i, i],
        "fluid_synth_sfload": [vp, ctypes.c_char_p, i],
        "fluid_set_log_function": [i, vp, vp],
    }.items():
        getattr(lib, name).argtypes = args
        getattr(lib, name).restype = ctypes.c_int if name != "fluid_set_log_function" else vp
    for level in range(5):  # FLUID_PANIC .. FLUID_DBG: keep fluidsynth's own output quiet
        lib.fluid_set_log_function(level, None, None)
    return lib


class _Synth:
    """A fluidsynth instance with one soundfont, rendering into a numpy buffer."""

    def __init__(self, sample_rate: int, soundfont: Path, *, n_channels: int, reverb: bool, chorus: bool):
        self.lib = _library()
        import fluidsynth

        self.sample_rate = sample_rate
        effects = {"synth.reverb.active": int(bool(reverb)), "synth.chorus.active": int(bool(chorus))}
        self._fs = fluidsynth.Synth(gain=0.2, samplerate=float(sample_rate), channels=n_channels, **effects)
        self.handle = self._fs.synth
        with muted_stderr():  # libinstpatch prints a GLib CRITICAL line for a file it cannot parse
            self.sfid = self.lib.fluid_synth_sfload(self.handle, str(soundfont).encode(), 0)
        if self.sfid < 0:
            self.close()
            raise RenderError(f"{soundfont}: fluidsynth cannot load this soundfont (is it a valid .sf2/.sf3?)")

    def __enter__(self) -> "_Synth":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fs is not None:
            self._fs.delete()
            self._fs = None

    def select(self, channel: int, bank: int, program: int) -> None:
        """Choose bank:program on a channel, falling back to bank 0 (melodic) or kit 0 (drums)."""
        fallback = (DRUM_BANK, 0) if bank == DRUM_BANK else (0, program)
        for b, p in ((bank, program), fallback, (fallback[0], 0)):
            if self.lib.fluid_synth_program_select(self.handle, channel, self.sfid, b, p) == 0:
                return

    def render(self, event_samples: np.ndarray, events: np.ndarray, end_sample: int) -> np.ndarray:
        """Play ``events`` at ``event_samples`` and render until ``end_sample`` plus the tail.

        Returns float32 [n_samples, 2], n_samples >= end_sample.
        """
        max_tail = int(MAX_TAIL_S * self.sample_rate)
        last = int(event_samples[-1]) if len(event_samples) else 0
        end_sample = max(end_sample, last)
        out = np.zeros((end_sample + max_tail, 2), dtype=np.float32)
        base, cursor = out.ctypes.data, 0
        handlers = (self._cc, self._bend, self._note_off, self._note_on)
        for sample, (kind, channel, a, b) in zip(event_samples.tolist(), events.tolist()):
            if sample > cursor:
                self._write(base, cursor, sample)
                cursor = sample
            handlers[kind](channel, a, b)
        self._write(base, cursor, end_sample)
        n = end_sample + self._render_tail(out, end_sample)
        out.resize((n, 2), refcheck=False)  # shrink in place: no second copy of the audio
        return out

    def _render_tail(self, out: np.ndarray, start: int) -> int:
        """Render blocks after ``start`` until one is silent; returns the tail length in samples."""
        block = max(1, int(_TAIL_BLOCK_S * self.sample_rate))
        pos = start
        while pos < len(out):
            stop = min(pos + block, len(out))
            self._write(out.ctypes.data, pos, stop)
            if np.abs(out[pos:stop]).max(initial=0.0) < SILENCE:
                return pos - start
            pos = stop
        return pos - start

    def _write(self, base: int, start: int, stop: int) -> None:
        """Render samples [start, stop) interleaved into the C-contiguous float32 [n, 2] buffer
        at address ``base``."""
        if stop <= start:
            return
        ptr = base + start * 8
        self.lib.fluid_synth_write_float(self.handle, stop - start, ptr, 0, 2, ptr, 1, 2)

    def _note_on(self, channel: int, pitch: int, velocity: int) -> None:
        self.lib.fluid_synth_noteon(self.handle, channel, pitch, velocity)

    def _note_off(self, channel: int, pitch: int, _: int) -> None:
        self.lib.fluid_synth_noteoff(self.handle, channel, pitch)

    def _cc(self, channel: int, number: int, value: int) -> None:
        self.lib.fluid_synth_cc(self.handle, channel, number, value)

    def _bend(self, channel: int, value: int, _: int) -> None:
        self.lib.fluid_synth_pitch_bend(self.handle, channel, value)
