"""Pictures: a piano roll for MIDI, waveform and log spectrogram for audio, stems on a time line.

Matplotlib runs on the Agg backend (no display needed); every figure is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pretty_midi  # noqa: E402

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
        fig = piano_roll_figure(path)
    elif suffix in AUDIO_EXTENSIONS:
        fig = audio_figure(path)
    else:
        allowed = ", ".join(MIDI_EXTENSIONS + AUDIO_EXTENSIONS)
        raise RenderError(f"{path}: cannot plot '{suffix}' files (use one of {allowed})")
    return _save(fig, out)


def piano_roll_figure(path: Path) -> plt.Figure:
    """One bar per note, a colour per instrument, on note names (C4); drums in a lane of their own
    (their note numbers name sounds, not pitches); a dashed line at each text event after the start,
    such as the "end of primer" that generated pieces carry."""
    from composer.render.synth import as_pretty_midi

    pm = as_pretty_midi(path)
    has_drums = any(inst.is_drum and inst.notes for inst in pm.instruments)
    fig, axes = plt.subplots(2 if has_drums else 1, 1, figsize=(12, 6 if has_drums else 5), sharex=True,
                             squeeze=False, height_ratios=(3, 1) if has_drums else None)
    pitch_ax, drum_ax = axes[0, 0], axes[-1, 0]
    colours = plt.get_cmap("tab10")
    for i, inst in enumerate(pm.instruments):
        if not inst.notes:
            continue
        rgba = np.tile(colours(i % 10), (len(inst.notes), 1))
        rgba[:, 3] = 0.3 + 0.7 * np.array([n.velocity for n in inst.notes]) / 127  # louder is darker
        ax = drum_ax if inst.is_drum else pitch_ax
        ax.barh([n.pitch for n in inst.notes], [n.end - n.start for n in inst.notes], height=0.8,
                left=[n.start for n in inst.notes], color=rgba,
                label=f"{'drums' if inst.is_drum else f'program {inst.program}'} {inst.name}".strip())
    _label_notes(pitch_ax, {n.pitch for inst in pm.instruments if not inst.is_drum for n in inst.notes},
                 pretty_midi.note_number_to_name, every_c=True)
    pitch_ax.set(ylabel="note", title=path.name)
    if has_drums:
        _label_notes(drum_ax, {n.pitch for inst in pm.instruments if inst.is_drum for n in inst.notes},
                     pretty_midi.note_number_to_drum_name, every_c=False)
        drum_ax.set(ylabel="drums")
    drum_ax.set(xlabel="time (s)")
    for event in (e for e in pm.text_events if e.time > 0):
        for ax in axes[:, 0]:
            ax.axvline(event.time, color="black", linestyle="--", linewidth=1)
        pitch_ax.annotate(event.text, (event.time, 1.0), xycoords=("data", "axes fraction"),
                          xytext=(3, -12), textcoords="offset points", fontsize="small")
    for ax in axes[:, 0]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize="small")
    return fig


def _label_notes(ax: plt.Axes, numbers: set[int], name: Callable[[int], str], *, every_c: bool) -> None:
    """Y ticks named by ``name``: each C in the range (every note if fewer than two Cs), or every number."""
    if not numbers:
        return
    ticks = sorted(numbers)
    if every_c:
        span = range(min(numbers), max(numbers) + 1)
        cs = [p for p in span if p % 12 == 0]
        ticks = cs if len(cs) >= 2 else list(span)
    ax.set_yticks(ticks, [name(t) or str(t) for t in ticks], fontsize="small")


def audio_figure(path: Path) -> plt.Figure:
    """Waveform (downmixed) over a log-frequency dB spectrogram, on one time axis of the same width
    (the colour bar has a column of its own, so it does not narrow the spectrogram alone)."""
    import librosa
    import librosa.display

    audio, rate = read_audio(path, mono=True)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), height_ratios=(1, 2), width_ratios=(60, 1))
    (wave_ax, spare), (spec_ax, bar_ax) = axes
    spare.axis("off")
    librosa.display.waveshow(audio, sr=rate, ax=wave_ax)
    wave_ax.set(title=path.name, ylabel="amplitude", xlabel="")
    db = librosa.amplitude_to_db(np.abs(librosa.stft(audio, n_fft=2048, hop_length=512)), ref=np.max)
    image = librosa.display.specshow(db, sr=rate, hop_length=512, x_axis="time", y_axis="log", ax=spec_ax)
    fig.colorbar(image, cax=bar_ax, format="%+.0f dB")
    spec_ax.sharex(wave_ax)
    wave_ax.set_xlim(0, len(audio) / rate)
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
