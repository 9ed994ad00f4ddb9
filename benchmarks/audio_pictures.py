"""Spectrogram of a generated sample next to the song's own audio, for docs/ (small PNGs).

Usage: python benchmarks/audio_pictures.py SONG.wav SAMPLE.wav OUT.png [--label TEXT] [--seconds 20]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from composer.audio_io import read_audio
from composer.evaluate.plots import plot_spectrograms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", type=Path)
    parser.add_argument("sample", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--label", default="generated")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--song-start", type=float, default=30.0, help="where the song excerpt starts (s)")
    args = parser.parse_args()
    sample, rate = read_audio(args.sample)
    song, _ = read_audio(args.song, sample_rate=rate)
    n = int(args.seconds * rate)
    start = int(args.song_start * rate)
    out = plot_spectrograms({f"song ({args.song.stem})": song[start:start + n], args.label: sample[:n]},
                            sample_rate=rate, out=args.out)
    shrink(out)


def shrink(png: Path, *, colours: int = 64) -> None:
    """Re-save with a small palette: a docs picture need not carry every noisy pixel's exact colour."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colours)
    small.save(png, optimize=True)


if __name__ == "__main__":
    main()
