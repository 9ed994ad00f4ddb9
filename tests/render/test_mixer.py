"""Mixing: loudness target, ceiling, loops, offsets, pan, conversions, spec errors, mix.json, joins and layers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pretty_midi
import pyloudnorm
import pytest
import soundfile as sf
import yaml

from composer.audio_io import read_audio, write_audio
from composer.errors import RenderError
from composer.render import loudness
from composer.render.mixer import crossfade, layer_under, mix, pan_gains

SR = 22050


def _sine(hz: float, seconds: float, *, sample_rate: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture
def stems(tmp_path: Path) -> Path:
    """A folder with a sine, a stereo noise burst, a click and a short ramp (for loops)."""
    rng = np.random.default_rng(0)
    write_audio(tmp_path / "sine.wav", _sine(440, 3.0), SR, subtype="FLOAT")
    write_audio(tmp_path / "noise.wav", (rng.standard_normal((2 * SR, 2)) * 0.2).astype(np.float32), SR,
                subtype="FLOAT")
    click = np.zeros(SR // 2, dtype=np.float32)
    click[0] = 0.9
    write_audio(tmp_path / "click.wav", click, SR, subtype="FLOAT")
    write_audio(tmp_path / "ramp.wav", np.linspace(0.1, 0.5, int(0.3 * SR), dtype=np.float32), SR, subtype="FLOAT")
    return tmp_path


def _raw_mix(stem_list: list, **master) -> dict:
    """A spec with exact output: no loudness target, float output, ceiling at 0 dBFS."""
    return {"master": {"sample_rate": SR, "target_lufs": None, "bit_depth": "float", "ceiling_db": 0.0, **master},
            "stems": stem_list}


@pytest.mark.parametrize("target", [-23.0, -16.0])
def test_mix_hits_target_lufs(stems: Path, target: float) -> None:
    spec = {"master": {"sample_rate": SR, "target_lufs": target, "ceiling_db": -1.0},
            "stems": [{"source": str(stems / "sine.wav"), "gain_db": -6},
                      {"source": str(stems / "noise.wav"), "pan": 0.4}]}
    report = mix(spec, out=stems / "out" / "mix.wav")
    audio, _ = read_audio(stems / "out" / "mix.wav", mono=False)
    assert abs(pyloudnorm.Meter(SR).integrated_loudness(audio.astype(np.float64)) - target) < 0.5
    assert abs(report["lufs"] - target) < 0.5


@pytest.mark.parametrize("bit_depth", [16, 24, "float"])
def test_peak_never_above_ceiling(stems: Path, bit_depth) -> None:
    # a hot target forces heavy limiting of the noise and the click
    spec = {"master": {"sample_rate": SR, "target_lufs": -6.0, "ceiling_db": -3.0, "bit_depth": bit_depth},
            "stems": [{"source": str(stems / "noise.wav"), "gain_db": 12},
                      {"source": str(stems / "click.wav"), "gain_db": 20}]}
    report = mix(spec, out=stems / "hot.wav")
    audio, _ = read_audio(stems / "hot.wav", mono=False)
    ceiling = 10 ** (-3.0 / 20)
    assert np.abs(audio).max() <= ceiling
    assert report["peak_db"] <= -3.0 and loudness.true_peak(audio, SR) <= ceiling + 1e-3
    assert report["lufs"] < -6.0  # limited: the target cannot be reached under this ceiling


def test_looped_stem_fills_length_exactly(stems: Path) -> None:
    spec = _raw_mix([{"source": str(stems / "ramp.wav"), "start": 0.5, "loop": True}], length=2.0)
    report = mix(spec, out=stems / "loop.wav")
    audio, _ = read_audio(stems / "loop.wav", mono=False)
    assert audio.shape == (2 * SR, 2) and report["length_s"] == 2.0
    period, offset = int(0.3 * SR), int(0.5 * SR)
    assert not audio[:offset].any()
    ramp = np.linspace(0.1, 0.5, period, dtype=np.float32) * pan_gains(0.0)[0]
    body = audio[offset:, 0]
    expected = np.resize(ramp, len(body))
    assert np.allclose(body, expected, atol=1e-6)


def test_stem_offsets_land_at_the_right_sample(stems: Path) -> None:
    spec = _raw_mix([{"source": str(stems / "click.wav"), "start": 0.25},
                     {"source": str(stems / "click.wav"), "start": {"bars": 1, "tempo": 120}, "gain_db": -6}])
    mix(spec, out=stems / "clicks.wav")
    audio, _ = read_audio(stems / "clicks.wav", mono=False)
    hits = np.flatnonzero(np.abs(audio[:, 0]) > 1e-3)
    assert list(hits) == [int(0.25 * SR), 2 * SR]  # 1 bar of 4/4 at 120 bpm = 2 s
    assert len(audio) == 2 * SR + SR // 2  # default length: end of the last stem


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.5, 1.0])
def test_constant_power_pan(stems: Path, pan: float) -> None:
    mix(_raw_mix([{"source": str(stems / "sine.wav"), "pan": pan}]), out=stems / "pan.wav")
    audio, _ = read_audio(stems / "pan.wav", mono=False)
    source, _ = read_audio(stems / "sine.wav")
    power = np.square(audio).sum(axis=1)
    assert np.allclose(power, np.square(source), atol=1e-5)  # L^2 + R^2 is the mono power
    left, right = np.abs(audio).max(axis=0)
    assert (left > right) == (pan < 0) and (right > left) == (pan > 0)
    if abs(pan) == 1.0:
        assert min(left, right) < 1e-6


def test_other_rates_and_channels_are_converted(stems: Path) -> None:
    write_audio(stems / "slow.wav", _sine(440, 1.0, sample_rate=11025), 11025, subtype="FLOAT")
    five = np.repeat(_sine(440, 1.0)[:, None], 5, axis=1)
    write_audio(stems / "five.wav", five, SR, subtype="FLOAT")
    report = mix(_raw_mix([{"source": str(stems / "slow.wav")}, {"source": str(stems / "five.wav")}]),
                 out=stems / "c.wav")
    audio, rate = read_audio(stems / "c.wav", mono=False)
    assert rate == SR and audio.shape == (SR, 2) and report["length_s"] == 1.0
    assert np.abs(audio).max() > 0.5


def test_stretch_and_shift(stems: Path) -> None:
    spec = _raw_mix([{"source": str(stems / "sine.wav"), "time_stretch": 2.0, "pitch_shift": 12}])
    mix(spec, out=stems / "fx.wav")
    audio, _ = read_audio(stems / "fx.wav")
    assert abs(len(audio) - 1.5 * SR) < 0.01 * SR
    spectrum = np.abs(np.fft.rfft(audio[SR // 4: SR]))
    assert abs(np.argmax(spectrum) * SR / (len(audio[SR // 4: SR])) - 880) < 20


def test_midi_stem_json_and_stems_folder(tmp_path: Path, scale: pretty_midi.PrettyMIDI) -> None:
    scale.write(str(tmp_path / "scale.mid"))
    write_audio(tmp_path / "sine.wav", _sine(220, 2.0), SR)
    spec = {"master": {"sample_rate": SR, "target_lufs": -18, "plot": True},
            "stems": [{"source": "scale.mid", "program": 40, "fade_out": 0.5}, {"source": "sine.wav", "gain_db": -12}]}
    (tmp_path / "mix.yaml").write_text(yaml.safe_dump(spec))
    report = mix(tmp_path / "mix.yaml", out=tmp_path / "out" / "song.wav")
    on_disk = json.loads((tmp_path / "out" / "mix.json").read_text())
    assert on_disk == report
    assert {"sample_rate", "length_s", "lufs", "peak_db", "stems"} <= set(report)
    assert [set(s) >= {"source", "gain_db", "lufs", "peak_db"} for s in report["stems"]] == [True, True]
    sine_lufs = loudness.integrated_lufs(_sine(220, 2.0), SR)  # centre pan keeps the mono loudness
    assert report["stems"][1]["lufs"] == pytest.approx(sine_lufs - 12 + report["master_gain_db"], abs=0.05)
    written = sorted(p.name for p in (tmp_path / "out" / "stems").iterdir())
    assert written == ["01_scale.wav", "02_sine.wav"]
    stem, _ = read_audio(tmp_path / "out" / "stems" / "01_scale.wav")
    assert len(stem) == round(report["length_s"] * SR)
    assert (tmp_path / "out" / "song.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("bit_depth, subtype", [(16, "PCM_16"), (24, "PCM_24"), ("float", "FLOAT")])
def test_stem_files_take_the_master_bit_depth(stems: Path, bit_depth, subtype: str) -> None:
    spec = {"master": {"sample_rate": SR, "target_lufs": -20.0, "bit_depth": bit_depth},
            "stems": [{"source": str(stems / "sine.wav")}, {"source": str(stems / "noise.wav"), "start": 0.5}]}
    report = mix(spec, out=stems / "out" / "mix.wav")
    assert sf.info(str(stems / "out" / "mix.wav")).subtype == subtype
    for entry in report["stems"]:
        assert entry["subtype"] == subtype and sf.info(entry["path"]).subtype == subtype
    # no temp files
    assert sorted(p.name for p in (stems / "out" / "stems").iterdir()) == ["01_sine.wav", "02_noise.wav"]
    noise = sf.read(report["stems"][1]["path"], dtype="float32")[0]
    assert not noise[:SR // 2].any()  # the silence before a later stem stays digital silence
    if bit_depth == 16:  # dithered like the master: the level is kept on average
        sine, _ = read_audio(report["stems"][0]["path"], mono=False)
        assert loudness.integrated_lufs(sine, SR) == pytest.approx(report["stems"][0]["lufs"], abs=0.05)


def test_stems_false_writes_no_stem_files(stems: Path) -> None:
    spec = {"master": {"sample_rate": SR, "target_lufs": -20.0, "stems": False},
            "stems": [{"source": str(stems / "sine.wav"), "pan": -0.5}, {"source": str(stems / "noise.wav")}]}
    report = mix(spec, out=stems / "out" / "mix.wav")
    assert sorted(p.name for p in (stems / "out").iterdir()) == ["mix.json", "mix.wav"]
    assert [(s["path"], s["subtype"]) for s in report["stems"]] == [(None, None)] * 2
    with_files = mix({**spec, "master": {**spec["master"], "stems": True}}, out=stems / "other" / "mix.wav")
    assert [s["lufs"] for s in report["stems"]] == [s["lufs"] for s in with_files["stems"]]
    assert report["lufs"] == with_files["lufs"]
    overridden = mix(spec, out=stems / "third" / "mix.wav", stems=True)  # `composer mix --stems`
    assert sorted(p.name for p in (stems / "third" / "stems").iterdir()) == ["01_sine.wav", "02_noise.wav"]
    assert overridden["lufs"] == report["lufs"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s["stems"][1].update(source="lead.wav"), r"mix.yaml: stem 2 \(lead.wav\): file not found"),
        (lambda s: s["stems"][0].update(gian_db=3), r"stem 1 \(sine.wav\): unknown key 'gian_db'"),
        (lambda s: s["master"].update(length=-3),
         r"mix.yaml: master: length must be a number > 0.0 and <= 3600.0, got -3"),
        (lambda s: s["master"].update(loudness=-14), r"master: unknown key 'loudness'"),
        (lambda s: s["master"].update(bit_depth=8), r"bit_depth 8 is not one of 16, 24, float"),
        (lambda s: s["stems"][0].update(pan=2), r"stem 1 \(sine.wav\): pan must be a number >= -1.0 and <= 1.0"),
        (lambda s: s["stems"][0].update(program=3), r"stem 1 \(sine.wav\): 'program' applies only to MIDI stems"),
        (lambda s: s["stems"][0].update(start={"bars": 2}), r"start in bars needs a tempo"),
        (lambda s: s["stems"][0].update(trim=[2, 1]), r"trim end 1.0 must be after its start 2.0"),
        (lambda s: s["stems"][0].update(loop="yes"), r"loop must be true or false"),
        (lambda s: s["master"].update(stems="no"), r"master: stems must be true or false"),
        (lambda s: s.update(stems=[]), r"mix.yaml: 'stems' must be a non-empty list"),
        (lambda s: [t.update(loop=True) for t in s["stems"]], r"'length' is required when every stem loops"),
        (lambda s: s["stems"][0].update(source="notes.txt"), r"'notes.txt' has an unsupported type"),
    ],
)
def test_bad_spec_is_one_line_error(stems: Path, edit, message: str) -> None:
    spec = {"master": {"sample_rate": SR}, "stems": [{"source": "sine.wav"}, {"source": "noise.wav"}]}
    edit(spec)
    (stems / "mix.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(RenderError, match=message) as info:
        mix(stems / "mix.yaml", out=stems / "bad.wav")
    assert "\n" not in str(info.value)
    assert not (stems / "bad.wav").exists()


def test_unreadable_stem_names_the_stem(stems: Path) -> None:
    (stems / "broken.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(RenderError, match=r"mix spec: stem 1 \(broken.wav\): .*cannot read audio"):
        mix({"stems": [{"source": str(stems / "broken.wav")}]}, out=stems / "x.wav")


def test_stems_sum_to_the_mix_when_the_limiter_is_idle(stems: Path) -> None:
    spec = {"master": {"sample_rate": SR, "target_lufs": -30.0, "bit_depth": "float"},
            "stems": [{"source": str(stems / "sine.wav"), "pan": -0.5},
                      {"source": str(stems / "noise.wav"), "start": 0.5}]}
    report = mix(spec, out=stems / "sum" / "mix.wav")
    audio, _ = read_audio(stems / "sum" / "mix.wav", mono=False)
    parts = [read_audio(s["path"], mono=False)[0] for s in report["stems"]]
    assert all(p.shape == audio.shape for p in parts)
    assert np.allclose(parts[0] + parts[1], audio, atol=1e-6)
    assert report["master_gain_db"] < 0  # brought down to -30 LUFS
    spans = [parts[0], parts[1][SR // 2:SR // 2 + 2 * SR]]  # where each stem plays (noise: 2 s from 0.5 s)
    for stem, span in zip(report["stems"], spans):  # levels measured before the master gain, then scaled
        assert stem["lufs"] == pytest.approx(loudness.integrated_lufs(span, SR), abs=0.002)
        assert stem["peak_db"] == pytest.approx(loudness.peak_db(span), abs=0.002)


def test_stem_lufs_brings_quiet_and_loud_stems_to_one_level(tmp_path, make_wav) -> None:
    quiet = make_wav(tmp_path / "quiet.wav", seconds=4.0, sample_rate=44100, amplitude=0.005)
    loud = make_wav(tmp_path / "loud.wav", seconds=4.0, sample_rate=44100, amplitude=0.8, f0_hz=300.0)
    spec = {"master": {"target_lufs": None},
            "stems": [{"source": str(quiet), "lufs": -24}, {"source": str(loud), "lufs": -24, "gain_db": -6}]}
    report = mix(spec, out=tmp_path / "mix.wav")
    assert report["stems"][0]["lufs"] == pytest.approx(-24.0, abs=0.1)
    assert report["stems"][1]["lufs"] == pytest.approx(-30.0, abs=0.1)  # lufs first, then gain_db


def test_crossfade_keeps_the_power_of_unrelated_signals_level() -> None:
    rng = np.random.default_rng(3)
    tail, body = (rng.standard_normal((2, SR, 2)) * 0.1).astype(np.float32)
    joined = crossfade(tail[: SR // 2], body)
    assert joined.shape == body.shape and joined.dtype == np.float32
    np.testing.assert_array_equal(joined[SR // 2:], body[SR // 2:])           # after the join: the body alone
    np.testing.assert_allclose(joined[0], tail[0], atol=1e-7)                 # it starts as the tail
    window = slice(SR // 4 - 2000, SR // 4 + 2000)                           # halfway: both at -3 dB
    power = float(np.mean(joined[window] ** 2)) / float(np.mean(body[window] ** 2))
    assert power == pytest.approx(1.0, abs=0.1)                               # linear fades would give 0.5


@pytest.mark.parametrize("level_db", [-12.0, -3.0])
def test_layer_under_sits_at_its_loudness_relative_to_the_music(level_db: float) -> None:
    music = np.repeat(_sine(440, 4.0)[:, None], 2, axis=1)
    layer = np.repeat(_sine(110, 4.0, amp=0.9)[:, None], 2, axis=1)
    mixed = layer_under(music, layer, level_db=level_db, sample_rate=SR)
    added = loudness.integrated_lufs(mixed - music, SR)
    assert added == pytest.approx(loudness.integrated_lufs(music, SR) + level_db, abs=0.05)


def test_nothing_is_layered_under_silent_music() -> None:
    silence, layer = np.zeros((SR, 2), np.float32), np.ones((SR, 2), np.float32) * 0.3
    np.testing.assert_array_equal(layer_under(silence, layer, level_db=-6.0, sample_rate=SR), silence)
