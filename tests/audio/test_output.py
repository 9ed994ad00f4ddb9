"""Generated files never peak above their limit, and a collapsed output is named on stderr."""

import numpy as np
import pytest

from composer.audio.output import limit_peak, write_generated
from composer.audio_io import read_audio
from composer.errors import ConfigError

SR = 16000
PCM_STEP = 1 / 32768


def full_scale_noise(seconds=2.0, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (1, int(seconds * SR))).astype(np.float32)


def melody(seconds=2.0):
    t = np.arange(int(seconds * SR)) / SR
    pitch_hz = 220.0 * 2 ** (np.floor(t * 4) % 8 / 12)  # a new note every 250 ms
    envelope = np.exp(-6.0 * (t % 0.25))
    return (0.3 * envelope * np.sin(2 * np.pi * np.cumsum(pitch_hz) / SR)).astype(np.float32)[None]


@pytest.mark.parametrize("peak_db", [-1.0, -6.0, 0.0])
def test_written_files_never_exceed_their_peak_limit(tmp_path, peak_db):
    loud = np.concatenate([1.7 * full_scale_noise(), melody()])  # one row beyond full scale, one quiet
    paths = write_generated(loud, SR, tmp_path / "x.wav", peak_db=peak_db, warn=False)
    peaks = [np.abs(read_audio(p)[0]).max() for p in paths]
    assert peaks[0] == pytest.approx(10 ** (peak_db / 20), abs=2 * PCM_STEP)
    assert peaks[1] == pytest.approx(np.abs(melody()).max(), abs=2 * PCM_STEP)  # never scaled up


def test_the_default_limit_is_minus_1_dbfs(tmp_path):
    [path] = write_generated(full_scale_noise(), SR, tmp_path / "x.wav", warn=False)
    assert np.abs(read_audio(path)[0]).max() <= 10 ** (-1 / 20) + PCM_STEP


def test_a_limit_above_full_scale_is_refused():
    with pytest.raises(ConfigError, match="peak_db must be <= 0 dBFS"):
        limit_peak(melody(), peak_db=1.0)


def test_collapsed_output_is_named_on_stderr(tmp_path, capsys):
    quiet_hiss = 0.02 * np.random.default_rng(2).standard_normal((1, 2 * SR)).astype(np.float32)
    rows = np.concatenate([full_scale_noise(), quiet_hiss, melody()])
    paths = write_generated(rows, SR, tmp_path / "x.wav")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert str(paths[0]) in lines[0] and "full-scale" in lines[0] and "noise-flat" in lines[0]
    assert str(paths[1]) in lines[1] and "full-scale" not in lines[1] and "noise-flat" in lines[1]
