"""Symbolic feature distributions, after Yang & Lerch (2019), "On the evaluation of generative
models in music".

Every piece is cut into windows of ``window_s`` seconds (so that a 30 s corpus chunk and a
two-minute generated piece give comparable pitch ranges and counts). Per window we take the
pitch range, the pitch count and the note density; per note the pitch class, the inter-onset
interval, the duration, the velocity and the polyphony (notes sounding at each onset). Each
feature's values are pooled over a set and binned on the fixed edges of ``FEATURE_BINS``; two
sets are compared by the overlap area and KL divergence of those histograms
(``composer.measures.distributions``). The generated set is compared with the eval split, and
the train split with the eval split gives the ceiling a model could reach.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from composer.errors import ComposerError
from composer.measures import distributions

# Bin edges per feature: units in the comments; values outside go to the end bins.
FEATURE_BINS: dict[str, np.ndarray] = {
    "pitch_class": np.arange(13) - 0.5,                      # pitch class 0..11
    "pitch_range": np.arange(0, 92, 4.0),                    # semitones per window
    "pitch_count": np.arange(0, 62, 2.0),                    # distinct pitches per window
    "note_density": np.arange(0, 20.5, 0.5),                 # note onsets per second
    "inter_onset_interval": np.geomspace(0.01, 4.0, 25),     # seconds between distinct onsets
    "note_duration": np.geomspace(0.01, 8.0, 25),            # seconds
    "velocity": np.arange(0.5, 137, 8.0),                    # MIDI velocity; edges between Magenta's
                                                             # 4-wide velocity bins, so a velocity and
                                                             # its decoded bin value share a histogram bin
    "polyphony": np.arange(17) + 0.5,                        # notes sounding at an onset, 1..16
}
FEATURES = tuple(FEATURE_BINS)
MIDI_EXTENSIONS = (".mid", ".midi")
HELD_NOTE_S = 4.0  # a note this long is held for seconds: rare in played music, usual when a note-off never comes


def note_array(item: Any) -> np.ndarray:
    """Pitched notes of a NoteSequence, PrettyMIDI or MIDI file as float64 [n_notes, 4].

    Columns: start (s), end (s), pitch, velocity; sorted by start. Drums are left out.
    """
    if isinstance(item, (str, os.PathLike)):
        item = _read_midi(Path(item))
    if hasattr(item, "instruments"):  # PrettyMIDI
        rows = [(n.start, n.end, n.pitch, n.velocity) for inst in item.instruments if not inst.is_drum
                for n in inst.notes]
    elif hasattr(item, "notes"):      # NoteSequence
        rows = [(n.start_time, n.end_time, n.pitch, n.velocity) for n in item.notes if not n.is_drum]
    else:
        raise ComposerError(f"cannot read notes from a {type(item).__name__} (give a NoteSequence, "
                            "PrettyMIDI or .mid path)")
    notes = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return notes[np.argsort(notes[:, 0], kind="stable")]


def _read_midi(path: Path) -> Any:
    import pretty_midi

    if path.suffix.lower() not in MIDI_EXTENSIONS:
        raise ComposerError(f"{path}: not a MIDI file (expected {', '.join(MIDI_EXTENSIONS)})")
    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # pretty_midi/mido raise many unrelated types on corrupt files
        raise ComposerError(f"{path}: cannot read MIDI ({str(exc).splitlines()[0] if str(exc) else exc!r})") from None


def windows(notes: np.ndarray, *, window_s: float = 10.0) -> list[tuple[np.ndarray, float]]:
    """Split notes [n, 4] by onset into windows of ``window_s`` seconds, times from each window start.

    Returns (notes, duration_s) pairs. A trailing window shorter than half ``window_s`` is
    dropped unless it is the only one (a short piece keeps its own length).
    """
    if notes.size == 0:
        return []
    length = float(notes[:, 1].max())
    count = max(1, int(np.floor(length / window_s + 0.5)))
    index = (notes[:, 0] // window_s).astype(int)
    out = []
    for w in range(count):
        part = notes[index == w].copy()
        part[:, :2] -= w * window_s
        if len(part):
            out.append((part, float(np.clip(length - w * window_s, 1e-3, window_s))))
    return out


def window_features(notes: np.ndarray, *, duration_s: float) -> dict[str, np.ndarray]:
    """Feature values contributed by one window of notes [n >= 1, 4] lasting ``duration_s``."""
    start, end, pitch, velocity = notes.T
    onsets = np.unique(start)
    sounding = (np.searchsorted(np.sort(start), onsets, side="right")
                - np.searchsorted(np.sort(end), onsets, side="right"))
    return {
        "pitch_class": np.mod(pitch, 12),
        "pitch_range": np.array([pitch.max() - pitch.min()]),
        "pitch_count": np.array([np.unique(pitch).size]),
        "note_density": np.array([onsets.size / duration_s]),
        "inter_onset_interval": np.diff(onsets),
        "note_duration": end - start,
        "velocity": velocity,
        "polyphony": sounding,
    }


def set_features(items: Iterable[Any], *, window_s: float = 10.0) -> dict[str, np.ndarray]:
    """Pooled feature values of a set of pieces (NoteSequences, PrettyMIDI or .mid paths)."""
    pooled: dict[str, list[np.ndarray]] = {name: [] for name in FEATURES}
    for item in items:
        for part, duration_s in windows(note_array(item), window_s=window_s):
            for name, values in window_features(part, duration_s=duration_s).items():
                pooled[name].append(values)
    return {name: np.concatenate(parts) if parts else np.zeros(0) for name, parts in pooled.items()}


def histograms(features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each feature's values binned on ``FEATURE_BINS`` as probabilities."""
    return {name: distributions.histogram(features[name], bins=FEATURE_BINS[name]) for name in FEATURES}


def compare_sets(generated: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per feature {"overlap", "kl"} of two sets' pooled features (``set_features`` output)."""
    gen, ref = histograms(generated), histograms(reference)
    return {name: distributions.compare(ref[name], gen[name]) for name in FEATURES}


def feature_summary(generated: dict[str, np.ndarray], eval_: dict[str, np.ndarray],
                    train: dict[str, np.ndarray]) -> dict[str, Any]:
    """The metrics.json keys for symbolic features.

    ``feature_overlap_ratio`` is the mean generated-vs-eval overlap over the mean train-vs-eval
    overlap: 1 means generated pieces are as close to the eval split as the train split is.
    ``feature_stats`` and ``held_note_share`` give the values behind the histograms, for a reader.
    """
    result = compare_sets(generated, eval_)
    ceiling = compare_sets(train, eval_)
    sets = {"generated": generated, "eval": eval_, "train": train}
    return {
        "feature_overlap": {k: v["overlap"] for k, v in result.items()},
        "feature_overlap_ceiling": {k: v["overlap"] for k, v in ceiling.items()},
        "feature_kl": {k: v["kl"] for k, v in result.items()},
        "feature_kl_ceiling": {k: v["kl"] for k, v in ceiling.items()},
        "feature_overlap_ratio": _mean_overlap(result) / max(_mean_overlap(ceiling), 1e-12),
        "feature_stats": {label: feature_stats(values) for label, values in sets.items()},
        "held_note_share": {label: held_note_share(values) for label, values in sets.items()},
    }


def feature_stats(features: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    """Median and 90th percentile of each feature's pooled values (None for a set without any); the pitch
    class, a category, has none."""
    return {name: {"median": float(np.median(values)) if values.size else None,
                   "p90": float(np.percentile(values, 90)) if values.size else None}
            for name, values in features.items() if name != "pitch_class"}


def held_note_share(features: dict[str, np.ndarray]) -> float | None:
    """Share of a set's notes lasting ``HELD_NOTE_S`` or more (None: no notes)."""
    durations = features["note_duration"]
    return float(np.mean(durations >= HELD_NOTE_S)) if durations.size else None


def _mean_overlap(table: dict[str, dict[str, float]]) -> float:
    return float(np.mean([v["overlap"] for v in table.values()]))
