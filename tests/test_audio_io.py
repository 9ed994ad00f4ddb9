"""Audio files in and out: formats, bit depths, channel counts, rates, and bad files."""

import numpy as np
import pytest
import soundfile as sf

from composer.audio_io import read_audio, stream_audio, write_audio
from composer.errors import ComposerError


def sine(freq_hz: float, sample_rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    return (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.mark.parametrize("subtype, tolerance", [("PCM_16", 1e-4), ("PCM_24", 1e-6), ("FLOAT", 0.0), ("PCM_U8", 1e-2)])
def test_round_trip_bit_depths(tmp_path, subtype, tolerance):
    audio = sine(440, 16000)
    write_audio(tmp_path / "a.wav", audio, 16000, subtype=subtype)
    back, rate = read_audio(tmp_path / "a.wav")
    assert rate == 16000 and back.dtype == np.float32
    assert np.max(np.abs(back - audio)) <= tolerance + 1e-7


def test_stereo_is_downmixed_and_resampled(tmp_path):
    left, right = sine(440, 96000), np.zeros(48000, np.float32)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 96000, subtype="PCM_24")
    mono, rate = read_audio(tmp_path / "s.wav", sample_rate=16000)
    assert rate == 16000 and mono.shape == (8000,)
    assert np.max(np.abs(mono)) == pytest.approx(0.25, abs=0.01)
    stereo, _ = read_audio(tmp_path / "s.wav", mono=False)
    assert stereo.shape == (48000, 2)


def test_nan_audio_is_rejected_on_read_and_write(tmp_path):
    sf.write(tmp_path / "nan.wav", np.full(100, np.nan, np.float32), 8000, subtype="FLOAT")
    with pytest.raises(ComposerError, match="NaN"):
        read_audio(tmp_path / "nan.wav")
    with pytest.raises(ComposerError, match="NaN"):
        write_audio(tmp_path / "out.wav", np.full(10, np.nan), 8000)
    assert not (tmp_path / "out.wav").exists()


def test_unknown_output_format(tmp_path):
    with pytest.raises(ComposerError, match="cannot write '.xyz'"):
        write_audio(tmp_path / "a.xyz", np.zeros(10), 8000)
    assert list(tmp_path.iterdir()) == []


def test_16_bit_stores_the_dither_grid_exactly_and_reads_like_libsndfile(tmp_path):
    steps = np.array([-32767, -2, -1, 0, 1, 2, 32767], np.float32)
    for name, subtype in (("a.wav", "PCM_16"), ("b.flac", None)):  # 16-bit is also the default
        write_audio(tmp_path / name, np.append(steps / 32767, [1.5, -1.5]), 8000, subtype=subtype)
        stored, _ = sf.read(tmp_path / name, dtype="int16")
        assert list(stored) == [-32767, -2, -1, 0, 1, 2, 32767, 32767, -32768]  # out of range: clipped
        back, _ = read_audio(tmp_path / name)
        assert np.array_equal(back, sf.read(tmp_path / name, dtype="float32")[0])


@pytest.mark.parametrize("file_rate, rate, block_s", [(44100, 22050, 0.3), (22050, 22050, 0.25), (8000, 22050, 1.0)])
def test_streamed_blocks_equal_the_whole_read(tmp_path, file_rate, rate, block_s):

    stereo = np.stack([sine(440, file_rate, 2.0), sine(660, file_rate, 2.0)], axis=1)
    sf.write(tmp_path / "s.wav", stereo, file_rate, subtype="FLOAT")
    blocks = list(stream_audio(tmp_path / "s.wav", sample_rate=rate, block_s=block_s))
    whole, _ = read_audio(tmp_path / "s.wav", sample_rate=rate)
    streamed = np.concatenate(blocks)
    assert streamed.dtype == np.float32 and abs(len(streamed) - len(whole)) <= 1
    n = min(len(streamed), len(whole))
    assert np.max(np.abs(streamed[:n] - whole[:n])) < 1e-3  # soxr streamed vs in one go
    assert max(len(b) for b in blocks) <= 1.05 * block_s * rate + 1024  # a block plus the resampler delay


@pytest.mark.parametrize("read", [read_audio, lambda path: list(stream_audio(path, sample_rate=16000))],
                         ids=["read_audio", "stream_audio"])
@pytest.mark.parametrize("content, reason", [
    (b"", "cannot read audio"),
    (b"RIFF\x00\x00garbage" * 10, "cannot read audio"),
])
def test_bad_files_raise_one_line_errors(tmp_path, read, content, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(ComposerError, match=reason) as info:
        read(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_streaming_a_cut_ogg_says_it_ends_early(tmp_path):
    """As read_audio: an Ogg cut short lacks its end-of-stream page (a cut wav is read to its end)."""

    sf.write(tmp_path / "long.ogg", sine(220, 16000, 48.0), 16000)
    data = (tmp_path / "long.ogg").read_bytes()
    (tmp_path / "cut.ogg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ComposerError, match=r"cut.ogg: truncated or corrupt: decoded 11.0 s of an unknown length"):
        list(stream_audio(tmp_path / "cut.ogg", sample_rate=16000, block_s=0.5))
