"""FFT/DCT frame domains: exact round trips, truncation, Griffin-Lim, and normalization."""

import numpy as np
import pytest
import scipy.signal

from composer.audio.transforms import (
    LOG_FLOOR,
    FrameSpec,
    Normalizer,
    audio_to_features,
    features_to_audio,
    from_features,
    magnitudes,
    to_features,
)
from composer.errors import ConfigError, RunDirError

SR = 16000


def music_signal(seconds: float = 1.5) -> np.ndarray:
    """A chirp over a decaying C major chord: sweeps, harmonics and an onset."""
    t = np.arange(int(SR * seconds)) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * np.exp(-2 * t)
    return (0.3 * scipy.signal.chirp(t, f0=60, t1=seconds, f1=7500) + 0.2 * chord).astype(np.float32)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2)))


@pytest.mark.parametrize("domain", ["fft", "dct"])
@pytest.mark.parametrize("frame_size, hop, window", [(1024, 512, "sqrt_hann"), (512, 128, "hann"),
                                                     (2048, 1024, "sqrt_hann")])
def test_round_trip_through_each_domain_reconstructs_the_audio(domain, frame_size, hop, window):
    spec = FrameSpec(frame_size, hop, window, domain)
    audio = music_signal()
    features = audio_to_features(audio, spec)
    assert features.shape[1] == spec.feature_dim == frame_size and features.dtype == np.float32
    back = features_to_audio(features, spec, n_samples=len(audio))
    assert back.shape == audio.shape
    assert snr_db(audio, back) > 40.0


def test_fft_features_are_real_and_imaginary_parts_without_the_always_zero_bins():
    spec = FrameSpec(8, 4, "hann", "fft")
    frames = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    features = to_features(frames, spec)
    spectrum = np.fft.rfft(frames)
    assert np.allclose(features[:, :5], spectrum.real, atol=1e-5)
    assert np.allclose(features[:, 5:], spectrum.imag[:, 1:4], atol=1e-5)
    assert np.allclose(from_features(features, spec), frames, atol=1e-5)


def test_dct_truncation_keeps_the_low_band_and_drops_the_high_band():
    t = np.arange(SR) / SR
    low, high = 0.5 * np.sin(2 * np.pi * 500 * t), 0.5 * np.sin(2 * np.pi * 6000 * t)
    spec = FrameSpec(1024, 512, "sqrt_hann", "dct", dct_keep=256)  # keeps 0 .. 2 kHz at 16 kHz
    assert spec.feature_dim == 256
    back = features_to_audio(audio_to_features((low + high).astype(np.float32), spec), spec, n_samples=SR)
    assert snr_db(low, back) > 30.0


def test_griffin_lim_recovers_audio_with_the_same_magnitudes():
    spec = FrameSpec(1024, 256, "sqrt_hann", "fft", phase="griffin_lim")
    audio = music_signal(1.0)
    magnitudes = audio_to_features(audio, spec)
    assert magnitudes.shape[1] == 513 and np.all(magnitudes >= 0)
    back = features_to_audio(magnitudes, spec, n_samples=len(audio), griffin_lim_iters=40)
    assert back.shape == audio.shape and np.all(np.isfinite(back))
    again = audio_to_features(back, spec)
    convergence = np.linalg.norm(again - magnitudes) / np.linalg.norm(magnitudes)
    assert convergence < 0.2
    with pytest.raises(ConfigError, match="Griffin-Lim"):
        from_features(magnitudes, spec)


def test_log_magnitudes_invert_to_the_same_audio_as_linear_ones():
    linear = FrameSpec(1024, 256, "sqrt_hann", "fft", phase="griffin_lim")
    log = FrameSpec(1024, 256, "sqrt_hann", "fft", phase="griffin_lim", magnitude="log")
    audio = music_signal(1.0)
    magnitudes, logs = audio_to_features(audio, linear), audio_to_features(audio, log)
    assert logs.shape == magnitudes.shape
    assert np.allclose(logs, np.log(magnitudes + LOG_FLOOR), atol=1e-5)
    # a gain on the log features is a gain on the audio, not an added noise floor
    assert np.allclose(features_to_audio(logs, log, n_samples=len(audio)),
                       features_to_audio(magnitudes, linear, n_samples=len(audio)), atol=1e-4)


def test_the_level_feature_inverts_exactly_and_holds_the_loudness_against_noise_in_the_shape():
    log = FrameSpec(1024, 256, "sqrt_hann", "fft", phase="griffin_lim", magnitude="log")
    split = FrameSpec(1024, 256, "sqrt_hann", "fft", phase="griffin_lim", magnitude="log", level_feature=True)
    audio = music_signal(1.0)
    logs, features = audio_to_features(audio, log), audio_to_features(audio, split)
    assert features.shape == (len(logs), 514) and split.feature_dim == 514
    magnitude = np.exp(logs.astype(np.float64)) - LOG_FLOOR
    assert np.allclose(features[:, -1], np.log(np.sqrt(np.mean(magnitude ** 2, axis=1)) + LOG_FLOOR), atol=1e-5)
    assert np.allclose(magnitudes(features, split), magnitude, rtol=1e-4, atol=1e-5)
    # Errors sampled into the shape bins change the spectrum but not the frame's level.
    noisy = features.copy()
    noisy[:, :-1] += np.random.default_rng(0).normal(0.0, 1.0, noisy[:, :-1].shape)
    rms = np.sqrt(np.mean(magnitudes(noisy, split) ** 2, axis=1))
    assert np.allclose(rms, np.exp(features[:, -1]) - LOG_FLOOR, rtol=1e-4)
    noisy_logs = logs + np.random.default_rng(0).normal(0.0, 1.0, logs.shape)
    unanchored = np.sqrt(np.mean(magnitudes(noisy_logs, log) ** 2, axis=1))
    assert np.median(unanchored / rms) > 1.3  # without the level feature the same noise raises the level


@pytest.mark.parametrize("kwargs, message", [
    (dict(domain="mdct"), "unknown domain"), (dict(phase="random"), "unknown phase"),
    (dict(phase="griffin_lim", magnitude="db"), "unknown magnitude"),
    (dict(magnitude="log"), "only to phase 'griffin_lim'"),
    (dict(phase="griffin_lim", level_feature=True), "level_feature applies only to magnitude 'log'"),
    (dict(domain="dct", phase="griffin_lim"), "only to domain 'fft'"),
    (dict(domain="fft", dct_keep=100), "dct_keep"), (dict(domain="dct", dct_keep=2048), "dct_keep"),
    (dict(hop=700), "hop"), (dict(window="blackman"), "unknown window"),
])
def test_frame_spec_rejects_bad_settings_with_a_message_naming_them(kwargs, message):
    settings = dict(frame_size=1024, hop=512, window="sqrt_hann", domain="fft") | kwargs
    with pytest.raises(ConfigError, match=message):
        FrameSpec(**settings)


def test_normalizer_standardizes_inverts_and_survives_a_save(tmp_path):
    rng = np.random.default_rng(0)
    scale = np.array([1e-2, 1.0, 50.0, 0.0], np.float32)  # the last feature never varies
    batches = [rng.standard_normal((500, 4)).astype(np.float32) * scale + 3.0 for _ in range(3)]
    normalizer = Normalizer.fit(iter(batches))
    normalized = normalizer.apply(np.concatenate(batches))
    assert np.allclose(normalized[:, :3].mean(axis=0), 0.0, atol=1e-3)
    assert np.allclose(normalized[:, :3].std(axis=0), 1.0, atol=1e-3)
    assert np.all(np.isfinite(normalized)) and np.allclose(normalized[:, 3], 0.0, atol=1e-3)
    assert np.allclose(normalizer.abs_max[:3], np.abs(normalized[:, :3]).max(axis=0), rtol=1e-3)
    assert np.allclose(normalizer.invert(normalized), np.concatenate(batches), atol=1e-3)
    normalizer.save(tmp_path / "run" / "normalization.npz")
    loaded = Normalizer.load(tmp_path / "run" / "normalization.npz")
    assert np.array_equal(loaded.mean, normalizer.mean) and np.array_equal(loaded.std, normalizer.std)
    assert not list((tmp_path / "run").glob(".*"))  # no temp file left behind


def test_normalizer_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="no frames"):
        Normalizer.fit(iter([]))
    with pytest.raises(RunDirError, match="missing"):
        Normalizer.load(tmp_path / "normalization.npz")


def test_spread_is_the_std_of_normalized_features_so_near_silent_bands_start_small():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((4000, 3)) * np.array([1.0, 0.5, 1e-7])  # the last band is near silent
    normalizer = Normalizer.fit(iter([features]))
    assert normalizer.spread[:2] == pytest.approx(1.0, abs=1e-6)
    assert normalizer.spread[2] == pytest.approx(normalizer.apply(features)[:, 2].std(), rel=1e-3)
    assert normalizer.spread[2] < 1e-2
