"""Writing generated audio: a peak limit, a collapse warning, one file per row.

Raw-audio models can collapse into full-scale noise; a user who plays such a file alone gets
it at full volume. So every generated file is scaled down (never up) to peak at most
``PEAK_DB`` unless the caller asks for another limit, and a file that is mostly full scale or
noise-flat (``composer.measures.audio_reference.collapse_shares``) is named on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from composer.audio.options import PEAK_DB
from composer.errors import check_range

COLLAPSE_SHARE = 0.5  # a file with more than this share of full-scale or noise-flat frames is flagged


def limit_peak(audio: np.ndarray, *, peak_db: float = PEAK_DB) -> np.ndarray:
    """Scale each row of [num, n_samples] down (never up) so its peak is at most ``peak_db`` dBFS."""
    check_range("peak_db", peak_db, high=0, note="dBFS")
    ceiling = 10 ** (peak_db / 20)
    peaks = np.max(np.abs(audio), axis=1, keepdims=True)
    return (audio * np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))).astype(np.float32)


def collapse_message(audio: np.ndarray, path: Path, *, sample_rate: int) -> str | None:
    """A one-line warning when ``audio`` [n_samples] is mostly full scale or noise-flat, else None."""
    from composer.measures.audio_reference import collapse_shares

    shares = collapse_shares(audio, sample_rate=sample_rate)
    flagged = {name: share for name, share in shares.items() if share > COLLAPSE_SHARE}
    if not flagged:
        return None
    what = " and ".join(f"{share:.0%} {name.removesuffix('_share').replace('_', '-')}"
                        for name, share in flagged.items())
    return (f"warning: {path}: the model produced noise, not music ({what} frames); "
            "try the best checkpoint of a longer run, a lower --temperature, or a --primer")


def output_paths(out: Path, num: int) -> list[Path]:
    """``out`` itself for one file, else ``out-1.wav``, ``out-2.wav``, ..."""
    if num == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{i + 1}{out.suffix or '.wav'}") for i in range(num)]


def write_generated(audio: np.ndarray, sample_rate: int, out: Path, *, peak_db: float = PEAK_DB,
                    warn: bool = True) -> list[Path]:
    """Write rows of raw model output [num, n_samples] as wavs peaking at most ``peak_db`` dBFS.

    With ``warn``, a collapsed row (judged before the limit, as the model made it) is named on stderr.
    """
    from composer.audio_io import write_audio

    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    paths = output_paths(Path(out), len(audio))
    if warn:
        for row, path in zip(audio, paths):
            message = collapse_message(row, path, sample_rate=sample_rate)
            if message:
                print(message, file=sys.stderr, flush=True)
    return [write_audio(path, row, sample_rate) for row, path in zip(limit_peak(audio, peak_db=peak_db), paths)]
