"""Framing and overlap-add: COLA windows, frame counts, exact reconstruction, the high-pass."""

import numpy as np
import pytest
import scipy.signal

from composer.audio import framing
from composer.errors import ConfigError

SR = 16000


def chirp(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * scipy.signal.chirp(t, f0=50, t1=seconds, f1=7000)).astype(np.float32)


@pytest.mark.parametrize("window, frame_size, hop, ok", [
    ("sqrt_hann", 1024, 512, True), ("sqrt_hann", 1024, 256, True), ("hann", 512, 256, True),
    ("hann", 1000, 500, True), ("sqrt_hann", 1024, 1024, False), ("hann", 1024, 300, False),
    ("sqrt_hann", 1024, 0, False), ("kaiser", 1024, 512, False),
])
def test_cola_check_accepts_only_windows_that_overlap_add_to_a_constant(window, frame_size, hop, ok):
    if ok:
        framing.check_cola(window, frame_size=frame_size, hop=hop)
        analysis, synthesis = framing.windows(window, frame_size)
        shifted = sum(np.roll(analysis * synthesis, k * hop) for k in range(frame_size // hop))
        assert np.allclose(shifted, shifted[0], atol=1e-5)
    else:
        with pytest.raises(ConfigError, match="window|hop"):
            framing.check_cola(window, frame_size=frame_size, hop=hop)


@pytest.mark.parametrize("n_samples", [0, 1, 511, 512, 513, 16000])
def test_frames_cover_every_sample_under_full_overlap(n_samples):
    frames = framing.frame(np.ones(n_samples, np.float32), frame_size=1024, hop=512, window="hann")
    assert frames.shape == (framing.n_frames_for(n_samples, frame_size=1024, hop=512), 1024)
    assert (frames.shape[0] - 1) * 512 + 1024 >= n_samples + 2 * 512  # padding on both ends
    back = framing.overlap_add(frames, hop=512, window="hann", n_samples=n_samples)
    assert np.allclose(back, 1.0, atol=1e-5)


@pytest.mark.parametrize("window, frame_size, hop", [("sqrt_hann", 1024, 512), ("hann", 512, 128),
                                                     ("sqrt_hann", 256, 64)])
def test_overlap_add_inverts_framing_exactly(window, frame_size, hop):
    audio = chirp()
    frames = framing.frame(audio, frame_size=frame_size, hop=hop, window=window)
    back = framing.overlap_add(frames, hop=hop, window=window, n_samples=len(audio))
    assert back.shape == audio.shape
    assert np.max(np.abs(back - audio)) < 1e-5


def test_overlap_add_of_a_batch_equals_each_row():
    frames = np.random.default_rng(0).standard_normal((3, 20, 256)).astype(np.float32)
    batch = framing.overlap_add(frames, hop=128, window="sqrt_hann")
    rows = [framing.overlap_add(f, hop=128, window="sqrt_hann") for f in frames]
    assert np.allclose(batch, np.stack(rows))


def test_sqrt_hann_tapers_invented_frames_so_joins_do_not_jump():
    frames = np.ones((10, 256), np.float32)  # a model's frames need not fade out; the window does it
    audio = framing.overlap_add(frames, hop=128, window="sqrt_hann")
    assert np.max(np.abs(np.diff(audio))) < 0.05


def test_highpass_removes_low_tone_and_keeps_high_tone():
    t = np.arange(SR) / SR
    low, high = np.sin(2 * np.pi * 100 * t), np.sin(2 * np.pi * 2000 * t)
    out = framing.highpass((low + high).astype(np.float32), sample_rate=SR, cutoff_hz=500)
    middle = slice(2000, -2000)
    assert out.dtype == np.float32
    assert np.allclose(out[middle], high[middle], atol=0.02)


@pytest.mark.parametrize("cutoff", [0, -5, 8000, 9000])
def test_highpass_rejects_cutoffs_outside_the_band(cutoff):
    with pytest.raises(ConfigError, match="highpass_hz"):
        framing.highpass(chirp(), sample_rate=SR, cutoff_hz=cutoff)
