"""Controls that control: does a conditioned run play the key and the density it is asked for?

Key: the piece's duration-weighted pitch-class histogram is correlated with the Krumhansl-Kessler
profiles of the 24 keys (``composer.measures.keys``); the best-correlated key is the estimated
key, and the correlation with the asked key's profile says how well it fits even when another
key fits better.
Density: notes per second of the generated material against the asked notes per second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from composer.measures.features import note_array
from composer.measures.keys import estimate_key, key_correlation, key_name, parse_key

KEYS = tuple(key_name(t, "major" if t % 2 == 0 else "minor") for t in range(12))  # 12 tonics, both modes
DENSITIES = (2.0, 4.0, 8.0)
DENSITY_TOLERANCE = 0.25


def pitch_class_seconds(item: Any) -> np.ndarray:
    """Seconds each pitch class sounds in a NoteSequence or MIDI file, float64 [12]."""
    notes = note_array(item)                                         # (n, [start, end, pitch, velocity])
    return np.bincount(notes[:, 2].astype(int) % 12, weights=notes[:, 1] - notes[:, 0], minlength=12)


def key_adherence(pieces: dict[str, Sequence[Any]]) -> dict:
    """Share of pieces whose estimated key is the asked one, and mean correlation with the asked key.

    ``pieces``: asked key ('D minor') -> the NoteSequences or MIDI files generated for it.
    """
    hits, correlations = [], []
    for key, items in pieces.items():
        asked = parse_key(key)
        for item in items:
            histogram = pitch_class_seconds(item)
            hits.append(estimate_key(histogram) == asked)
            correlations.append(key_correlation(histogram, *asked))
    return {"key_hit_rate": float(np.mean(hits)), "key_correlation": float(np.mean(correlations)),
            "pieces": len(hits)}


def density_adherence(pieces: dict[float, Sequence[Any]], *, seconds: float) -> dict:
    """Generated notes/s over ``seconds`` against the asked notes/s: ratio per density, share within 25%."""
    ratios = {density: [len(note_array(item)) / seconds / density for item in items]
              for density, items in pieces.items()}
    every = np.concatenate([np.asarray(r) for r in ratios.values()])
    return {"density_ratio": {str(d): float(np.mean(r)) for d, r in ratios.items()},
            "density_within_25pct": float(np.mean(np.abs(every - 1.0) <= DENSITY_TOLERANCE))}


def measure(run_dir: Path, config: Any, *, out: Path, seconds: float, seed: int = 0,
            keys: Sequence[str] = KEYS, densities: Sequence[float] | None = None,
            guidance: float | None = None) -> dict:
    """Generate one piece per asked key and density from a conditioned run (its ``config``) and measure adherence.

    The densities asked are by default the corpus's own 10th, 50th and 90th percentiles (in the
    run's meta.json; ``DENSITIES`` for runs that predate them): a chorale model asked for a
    density no chorale plays says nothing about its control. A control not under test is left
    absent, or, for a run trained with every control always present (control_dropout 0), held
    at a middle value (4 notes/s, C major). ``guidance``: the classifier-free guidance scale of
    every piece (None: none).
    """
    from composer.generate import generate
    from composer.train.run import META, read_json

    if densities is None:
        densities = read_json(Path(run_dir) / META).get("density_quantiles") or DENSITIES

    held = config.control_dropout == 0
    guided = {"guidance": guidance} if guidance is not None else {}  # absent: the run's own default
    result: dict[str, Any] = {"seconds": seconds, **guided}
    if "pitch_histogram" in config.controls:
        other = {"density": [4.0], **guided} if held and "density" in config.controls else guided
        made = {key: generate(run_dir, out=out / f"key-{k:02d}.mid", key=[key], seconds=seconds, seed=seed + k,
                              **other) for k, key in enumerate(keys)}
        result.update(key_adherence(made))
    if "density" in config.controls:
        other = {"key": ["C major"], **guided} if held and "pitch_histogram" in config.controls else guided
        made = {d: generate(run_dir, out=out / f"density-{k:02d}.mid", density=[d], seconds=seconds, seed=seed + k,
                            **other) for k, d in enumerate(densities)}
        result.update(density_adherence(made, seconds=seconds))
    return result
