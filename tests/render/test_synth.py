"""fluidsynth rendering: pitch, drums, silence, options and errors."""

from __future__ import annotations

import sys
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from composer.errors import RenderError
from composer.render.synth import MAX_CHANNELS, MAX_TAIL_S, _assign_channels, _library, render_midi

SR = 22050
C_MAJOR = (60, 62, 64, 65, 67, 69, 71, 72)
NOTE_S = 0.4  # as conftest.scale_midi


def _peak_hz(audio: np.ndarray, sample_rate: int) -> float:
    """Frequency (Hz) of the strongest spectral peak of mono audio, Hann-windowed, zero-padded."""
    n_fft = 1 << 16
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), n=n_fft))
    spectrum[: int(40 * n_fft / sample_rate)] = 0.0  # ignore DC and rumble below 40 Hz
    return float(np.argmax(spectrum) * sample_rate / n_fft)


def test_scale_energy_at_expected_pitches(make_scale) -> None:
    # GM 40 (violin): its fundamental is the strongest partial (a low piano note's is the octave)
    audio = render_midi(make_scale(40), sample_rate=SR, reverb=False, chorus=False)
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    mono = audio.mean(axis=1)
    for i, pitch in enumerate(C_MAJOR):
        segment = mono[int((i + 0.1) * NOTE_S * SR): int((i + 0.8) * NOTE_S * SR)]
        semitones = 12 * np.log2(_peak_hz(segment, SR) / pretty_midi.note_number_to_hz(pitch))
        assert abs(semitones) < 1.0, f"note {i} (MIDI {pitch}) peaks {semitones:+.2f} semitones off"


def test_release_tail_kept_and_bounded(scale: pretty_midi.PrettyMIDI) -> None:
    audio = render_midi(scale, sample_rate=SR)
    end = int(scale.get_end_time() * SR)
    assert end < len(audio) <= end + MAX_TAIL_S * SR
    assert np.abs(audio[end:]).max() > 1e-3  # the last note rings past its note-off


def test_drums_render_non_silent(drums: pretty_midi.PrettyMIDI) -> None:
    audio = render_midi(drums, sample_rate=SR)
    hits = [np.abs(audio[int(t * SR): int((t + 0.1) * SR)]).max() for t in np.arange(8) * 0.25]
    assert min(hits) > 1e-2


def test_silence_in_silence_out() -> None:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.control_changes.append(pretty_midi.ControlChange(7, 100, 2.0))  # no notes, 2 s long
    pm.instruments.append(inst)
    audio = render_midi(pm, sample_rate=SR)
    assert audio.shape == (2 * SR, 2)
    assert np.abs(audio).max() < 1e-6  # fluidsynth's reverb adds a ~1e-8 anti-denormal offset


def test_program_override_changes_the_sound(make_scale) -> None:
    piano = render_midi(make_scale(0), sample_rate=SR, reverb=False, chorus=False)
    forced = render_midi(make_scale(0), sample_rate=SR, program=73, reverb=False, chorus=False)
    flute = render_midi(make_scale(73), sample_rate=SR, reverb=False, chorus=False)
    n = min(len(forced), len(flute), len(piano))
    assert np.allclose(forced[:n], flute[:n], atol=1e-6)
    assert not np.allclose(forced[:n], piano[:n], atol=1e-3)


def test_sustain_pedal_lengthens_notes(make_scale) -> None:
    dry = make_scale(0, pitches=(60,))
    pedal = make_scale(0, pitches=(60,))
    pedal.instruments[0].control_changes += [pretty_midi.ControlChange(64, 127, 0.0),
                                             pretty_midi.ControlChange(64, 0, 2.0)]
    late = slice(int(1.0 * SR), int(1.5 * SR))
    loud = np.abs(render_midi(pedal, sample_rate=SR, reverb=False)[late]).max()
    quiet = np.abs(render_midi(dry, sample_rate=SR, reverb=False)[late]).max(initial=0.0)
    assert loud > 10 * max(quiet, 1e-6)


def test_pitch_bend_moves_the_pitch(make_scale) -> None:
    pm = make_scale(74, pitches=(69,))
    pm.instruments[0].notes[0].end = 1.0
    pm.instruments[0].pitch_bends.append(pretty_midi.PitchBend(4096, 0.0))  # +2 semitones at range 2
    audio = render_midi(pm, sample_rate=SR, reverb=False, chorus=False).mean(axis=1)
    hz = _peak_hz(audio[int(0.2 * SR): int(0.8 * SR)], SR)
    assert abs(12 * np.log2(hz / pretty_midi.note_number_to_hz(70))) < 0.5


def test_accepts_path_and_note_sequence(tmp_path: Path, scale: pretty_midi.PrettyMIDI) -> None:
    from note_seq import midi_io

    path = tmp_path / "scale.mid"
    scale.write(str(path))
    from_path = render_midi(path, sample_rate=SR, reverb=False, chorus=False)
    from_ns = render_midi(midi_io.midi_file_to_note_sequence(str(path)), sample_rate=SR, reverb=False, chorus=False)
    assert from_path.shape == from_ns.shape and np.abs(from_path).max() > 1e-2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"soundfont": "/nope/missing.sf2"}, "missing.sf2: soundfont not found"),
        ({"program": 128}, "program 128 is out of range"),
        ({"sample_rate": 1000}, "sample rate 1000 Hz is out of range"),
    ],
)
def test_bad_options_raise(scale: pretty_midi.PrettyMIDI, kwargs: dict, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render_midi(scale, **kwargs)


def test_bad_inputs_raise(tmp_path: Path, scale: pretty_midi.PrettyMIDI) -> None:
    with pytest.raises(RenderError, match="gone.mid: MIDI file not found"):
        render_midi(tmp_path / "gone.mid")
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"not a midi file")
    with pytest.raises(RenderError, match="junk.mid: cannot read MIDI"):
        render_midi(junk)
    bad_sf = tmp_path / "bad.sf2"
    bad_sf.write_bytes(b"RIFF0000junk")
    with pytest.raises(RenderError, match="bad.sf2: fluidsynth cannot load"):
        render_midi(scale, soundfont=bad_sf)


def test_tempo_changes_are_honoured(tmp_path: Path) -> None:
    """Two notes at beats 0 and 3; the tempo halves after beat 2, so beat 3 sounds at 2.0 s."""
    track = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=500_000, time=0),  # 120 bpm
        mido.Message("program_change", program=74, time=0),
        mido.Message("note_on", note=69, velocity=100, time=0),
        mido.Message("note_off", note=69, velocity=0, time=240),
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=720),  # at beat 2: 60 bpm
        mido.Message("note_on", note=69, velocity=100, time=480),
        mido.Message("note_off", note=69, velocity=0, time=240),
    ])
    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(track)
    midi.save(str(tmp_path / "tempo.mid"))
    audio = np.abs(render_midi(tmp_path / "tempo.mid", sample_rate=SR, reverb=False, chorus=False)).max(axis=1)
    onsets = np.flatnonzero((audio[1:] > 0.01) & (audio[:-1] <= 0.01)) / SR
    first, second = onsets[0], onsets[onsets > 0.5][0]
    assert first < 0.1 and abs((second - first) - 2.0) < 0.01  # same attack, so compare onsets


def test_missing_library_says_how_to_install(monkeypatch: pytest.MonkeyPatch, scale: pretty_midi.PrettyMIDI) -> None:
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # import fluidsynth now raises ImportError
    _library.cache_clear()
    try:
        with pytest.raises(RenderError, match=r"cannot load the fluidsynth library .*apt-get install libfluidsynth3"):
            render_midi(scale)
    finally:
        _library.cache_clear()


def test_channels_drums_on_ten_and_shared_past_the_limit() -> None:
    pm = pretty_midi.PrettyMIDI()
    pm.instruments = [pretty_midi.Instrument(program=k % 5, is_drum=(k % 50 == 0)) for k in range(300)]
    channels = _assign_channels(pm, None)
    assert all((ch.number % 16 == 9) == ch.instrument.is_drum for ch in channels)
    assert all(ch.bank == 128 for ch in channels if ch.instrument.is_drum)
    assert len({ch.number for ch in channels}) == 240 + 6 and max(ch.number for ch in channels) < MAX_CHANNELS
    sounds = {}
    for ch in channels:  # a shared channel always carries one sound
        assert sounds.setdefault(ch.number, (ch.bank, ch.program)) == (ch.bank, ch.program)
    forced = _assign_channels(pm, 73)
    assert {ch.program for ch in forced if not ch.instrument.is_drum} == {73}


def test_output_has_no_dc_offset(make_scale) -> None:
    """TimGM6mb's string ensemble (program 48) carries a DC offset; the render removes it."""
    audio = render_midi(make_scale(), sample_rate=22050, program=48)
    rms = np.sqrt(np.mean(audio**2))
    assert rms > 0.01
    assert np.all(np.abs(audio.mean(axis=0)) < 1e-3 * rms)
