"""Pictures: a piano roll for MIDI, waveform and log spectrogram for audio, stems on a time line.

Matplotlib runs on the Agg backend (no display needed); every figure is written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from composer.atomic import atomic_file  # noqa: E402
from composer.audio_io import AUDIO_EXTENSIONS, read_audio  # noqa: E402
from composer.errors import RenderError  # noqa: E402
from composer.render.loudness import frame_peaks  # noqa: E402
from composer.render.mixspec import MIDI_EXTENSIONS  # noqa: E402

_ENVELOPE_POINTS = 2000  # columns of the time-line picture


def plot_file(path: str | os.PathLike, *, out: str | os.PathLike) -> Path:
    """Draw ``path`` to the PNG ``out``: piano roll if MIDI, waveform + spectrogram if audio."""
    path, out = Path(path), Path(out)
    if not path.is_file():
        raise RenderError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in MIDI_EXTENSIONS:
        fig = _piano_roll_figure(path)
    elif suffix in AUDIO_EXTENSIONS:
        fig = _audio_figure(path)
    else:
        allowed = ", ".join(MIDI_EXTENSIONS + AUDIO_EXTENSIONS)
        raise RenderError(f"{path}: cannot plot '{suffix}' files (use one of {allowed})")
    return _save(fig, out)


def _piano_roll_figure(path: Path) -> plt.Figure:
    """One coloured bar per note (time in seconds, MIDI pitch), a colour per instrument."""
    from composer.render.synth import as_pretty_midi

    pm = as_pretty_midi(path)
    fig, ax = plt.subplots(figsize=(12, 5))
    colours = plt.get_cmap("tab10")
    for i, inst in enumerate(pm.instruments):
        if not inst.notes:
            continue
        rgba = np.tile(colours(i % 10), (len(inst.notes), 1))
        rgba[:, 3] = 0.3 + 0.7 * np.array([n.velocity for n in inst.notes]) / 127  # louder is darker
        ax.barh([n.pitch for n in inst.notes], [n.end - n.start for n in inst.notes], height=0.8,
                left=[n.start for n in inst.notes], color=rgba,
                label=f"{'drums' if inst.is_drum else f'program {inst.program}'} {inst.name}".strip())
    ax.set(xlabel="time (s)", ylabel="MIDI pitch", title=path.name)
    if any(inst.notes for inst in pm.instruments):
        ax.legend(loc="upper right", fontsize="small")
    return fig


def _audio_figure(path: Path) -> plt.Figure:
    """Waveform (downmixed) over a log-frequency dB spectrogram."""
    import librosa
    import librosa.display

    audio, rate = read_audio(path, mono=True)
    fig, (wave_ax, spec_ax) = plt.subplots(2, 1, figsize=(12, 7), sharex=True, height_ratios=(1, 2))
    librosa.display.waveshow(audio, sr=rate, ax=wave_ax)
    wave_ax.set(title=path.name, ylabel="amplitude")
    db = librosa.amplitude_to_db(np.abs(librosa.stft(audio, n_fft=2048, hop_length=512)), ref=np.max)
    image = librosa.display.specshow(db, sr=rate, hop_length=512, x_axis="time", y_axis="log", ax=spec_ax)
    fig.colorbar(image, ax=spec_ax, format="%+.0f dB")
    return fig


def plot_timeline(stems: list[tuple[str, int, np.ndarray]], mix: np.ndarray, sample_rate: int, *,
                  out: str | os.PathLike) -> Path:
    """Every stem's envelope at its place on the mix's time line, the mix below.

    Args:
      stems: (name, offset in samples, audio float [n, channels]) per stem.
      mix: float [n_samples, channels], the full mix.
    """
    n = len(mix)
    fig, axes = plt.subplots(len(stems) + 1, 1, figsize=(12, 1.2 * (len(stems) + 1) + 1), sharex=True, squeeze=False)
    for ax, (name, offset, audio) in zip(axes[:, 0], stems + [("mix", 0, mix)]):
        times, envelope = _envelope(offset, audio, n, sample_rate)
        ax.fill_between(times, -envelope, envelope, linewidth=0, color="tab:blue" if name != "mix" else "tab:red")
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize="small")
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("time (s)")
    axes[-1, 0].set_xlim(0, n / sample_rate)
    return _save(fig, Path(out))


def _envelope(offset: int, audio: np.ndarray, n_samples: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Peak envelope of a stem placed at ``offset`` in a mix of ``n_samples``: (times_s, peaks)."""
    level = np.zeros(n_samples, dtype=np.float32)
    level[offset:offset + len(audio)] = frame_peaks(audio)[: n_samples - offset]
    hop = max(1, n_samples // _ENVELOPE_POINTS)
    peaks = level[: len(level) // hop * hop].reshape(-1, hop).max(axis=1)
    return np.arange(len(peaks)) * hop / sample_rate, peaks


def _save(fig: plt.Figure, out: Path) -> Path:
    """Write the figure as PNG atomically and close it."""
    try:
        fig.tight_layout()
        with atomic_file(out) as handle:
            fig.savefig(handle, dpi=100, format="png")
    finally:
        plt.close(fig)
    return out
