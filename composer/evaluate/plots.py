"""PNG plots of an evaluation (matplotlib, Agg backend): each function writes one file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi

COLORS = {"eval": "black", "train": "tab:blue", "generated": "tab:red"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path) -> Path:
    """Save atomically (temp name, then rename) and close."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    tmp.replace(out)
    return out


def plot_ngram(by_order: dict[str, float], *, unigram: float, model: float | None, out: Path) -> Path:
    """Held-out nats per event of each n-gram order, with the unigram and the model as lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    orders = sorted(by_order, key=int)
    ax.plot([int(k) for k in orders], [by_order[k] for k in orders], "o-", label="Kneser-Ney n-gram")
    ax.axhline(unigram, color="gray", ls="--", label="unigram")
    if model is not None:
        ax.axhline(model, color=COLORS["generated"], label="model")
    ax.set(xlabel="order n", ylabel="eval NLL (nats/event)", title="Held-out likelihood vs baselines")
    ax.legend()
    return _save(fig, out)


def plot_by_position(rows: dict[str, dict[str, float | None]], *, out: Path) -> Path:
    """Held-out nats per event in each position band (x), one line per predictor (model, n-gram)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, bands in rows.items():
        labels = list(bands)
        ax.plot(range(len(labels)), [np.nan if v is None else v for v in bands.values()], "o-", label=name)
    ax.set_xticks(range(len(labels)), labels)
    ax.set(xlabel="position of the predicted event in its window", ylabel="eval NLL (nats/event)",
           title="Held-out likelihood by position")
    ax.legend()
    return _save(fig, out)


def plot_distributions(sets: dict[str, dict[str, np.ndarray]], bins: dict[str, np.ndarray], *,
                       title: str, out: Path) -> Path:
    """One panel per feature: the binned distribution of each set (label -> feature -> probs).

    Features without bins (categorical, e.g. chroma) are drawn over their index.
    """
    plt = _pyplot()
    names = list(next(iter(sets.values())))
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        for label, hists in sets.items():
            probs = hists[name]
            edges = bins.get(name, np.arange(len(probs) + 1) - 0.5)
            ax.stairs(probs, edges, label=label, color=COLORS.get(label))
        if name in bins and bins[name][0] > 0 and bins[name][-1] / bins[name][0] > 100:
            ax.set_xscale("log")
        if name == "pitch_class":  # names, not 0, 2.5, 5.0
            ax.set_xticks(range(12), [pretty_midi.note_number_to_name(60 + k)[:-1] for k in range(12)],
                          fontsize=7)
        ax.set_title(name, fontsize=9)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, out)


def plot_collapse(rows: dict[str, dict[str, float]], *, out: Path) -> Path:
    """Grouped bars of the collapse checks (silence, clipping, loop, copy) per clip or set."""
    plt = _pyplot()
    checks = ("silence_ratio", "clipping_ratio", "loop_ratio", "copy_rate")
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows)), 3.5))
    width = 0.8 / len(checks)
    x = np.arange(len(rows))
    for i, check in enumerate(checks):
        ax.bar(x + i * width, [row[check] for row in rows.values()], width, label=check)
    ax.set_xticks(x + 0.4 - width / 2, list(rows), rotation=30, ha="right", fontsize=8)
    ax.set(ylim=(0, 1.05), ylabel="share", title="Collapse checks")
    ax.legend(fontsize=8)
    return _save(fig, out)


def plot_spectrograms(clips: dict[str, np.ndarray], *, sample_rate: int, out: Path) -> Path:
    """Log-power spectrograms of a few clips side by side (label -> mono audio [n_samples]), on one dB scale."""
    import librosa

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(clips), figsize=(3.6 * len(clips), 2.2), sharey=True, squeeze=False)
    for ax, (label, audio) in zip(axes[0], clips.items()):
        power = np.abs(librosa.stft(np.asarray(audio, np.float32), n_fft=1024, hop_length=256)) ** 2
        db = 10 * np.log10(np.maximum(power, 1e-10))
        extent = (0.0, len(audio) / sample_rate, 0.0, sample_rate / 2000)
        ax.imshow(db, origin="lower", aspect="auto", extent=extent, vmin=-90, vmax=db.max(), cmap="magma")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("s")
    axes[0][0].set_ylabel("kHz")
    return _save(fig, out)
