"""The examples in examples/ run as written (on tiny settings)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from composer.render.mixer import mix

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def run_example(script: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                            timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_mix_spec_layers_generated_stems_with_a_recording(tmp_path, make_midi, make_wav):
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLES / "mix.yaml", tmp_path / "examples" / "mix.yaml")
    make_midi(tmp_path / "out" / "piece-1.mid", repeats=8)
    make_wav(tmp_path / "out" / "texture.wav", seconds=7.0, sample_rate=16000)
    make_wav(tmp_path / "out" / "grain-1.wav", seconds=45.0, sample_rate=48000, channels=2, subtype="PCM_24")
    report = mix(tmp_path / "examples" / "mix.yaml", out=tmp_path / "out" / "mix.wav")
    assert report["length_s"] == pytest.approx(60.0)
    assert report["lufs"] == pytest.approx(-16.0, abs=0.5) and report["peak_db"] <= -1.0 + 1e-6
    assert len(report["stems"]) == 3
    assert json.loads((tmp_path / "out" / "mix.json").read_text())["sample_rate"] == 44100
    audio, rate = sf.read(tmp_path / "out" / "mix.wav")
    assert rate == 44100 and audio.shape == (60 * 44100, 2)


@pytest.mark.slow
def test_song_to_ambient_on_tiny_settings(tmp_path, make_midi):
    from composer.render.synth import render_midi

    song = make_midi(tmp_path / "song.mid", pitches=(60, 64, 67, 72, 65, 69, 62, 67), note_s=0.4, repeats=25)
    sf.write(tmp_path / "song.wav", render_midi(song, sample_rate=22050), 22050)
    run_example("song_to_ambient.py", str(tmp_path / "song.wav"), "--out", str(tmp_path / "run"),
                "--root", str(tmp_path / "corpora"), "--config", "configs/lstm_vae/tiny.yaml",
                "--steps", "30", "--seconds", "3")
    audio, rate = sf.read(tmp_path / "run" / "ambient.wav")
    assert rate == 16000 and audio.shape[0] == pytest.approx(3 * 16000, rel=0.05)
    assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) < 1.0


@pytest.mark.slow
def test_train_on_my_midi_on_tiny_settings(tmp_path, make_midi):
    for index in range(4):
        make_midi(tmp_path / "midi" / f"piece{index}.mid", pitches=(60 + index, 64, 67, 72), repeats=20)
    run_example("train_on_my_midi.py", str(tmp_path / "midi"), "--out", str(tmp_path / "run"),
                "--root", str(tmp_path / "corpora"), "--config", "configs/performance_rnn/tiny.yaml",
                "--steps", "20", "--num", "2", "--seconds", "5")
    written = sorted(p.suffix for p in (tmp_path / "run" / "generated").iterdir())
    assert written.count(".mid") >= 4  # two performances and their quantized copies
    assert {".musicxml", ".xml"} & set(written)
