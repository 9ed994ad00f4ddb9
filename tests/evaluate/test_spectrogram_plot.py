"""Spectrograms side by side (docs pictures of a sample next to its song)."""

import numpy as np

from composer.evaluate.plots import plot_spectrograms

SR = 16000


def test_spectrograms_side_by_side_write_a_png(tmp_path, corpus_audio):
    noise = (0.1 * np.random.default_rng(0).standard_normal(4 * SR)).astype(np.float32)
    out = plot_spectrograms({"song": corpus_audio["fresh"], "noise": noise}, sample_rate=SR, out=tmp_path / "s.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not list(tmp_path.glob(".*"))
