"""Listening during training: score a few seconds of generated audio between noise and the song.

The eval loss of a raw-audio model can fall while its samples stay noise (and on one song it
often rises from early on while the samples improve), so each evaluation during training also
generates a short sample and places it with ``composer.measures.audio_reference``: 0 = noise at
its loudness, 1 = as close to the eval audio as the train audio is. The references (a stretch
of each split) are cut once at ``prepare`` into ``references.npz`` so each check is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from composer.audio.transforms import load_npz, save_npz

REFERENCES = "references.npz"
REFERENCE_S = 30.0          # audio per split kept as reference
RATIO_RANGE = (-1.0, 1.0)   # clipped before averaging: closer than the song itself earns nothing more
BASELINE_PENALTY = RATIO_RANGE[1] - RATIO_RANGE[0] + 1.0
BestBy = Literal["eval_loss", "audio_ratio", "audio_min", "whitened"]
SELECTED_BY = {"audio_ratio": ("audio_ratio",), "audio_min": ("audio_min",),
               "whitened": ("ratio_whitened_flatness", "ratio_whitened_coherence")}


def _first_seconds(clips: Any, n_samples: int) -> np.ndarray:
    """The first ``n_samples`` of a split's clips, joined. Shape [<= n_samples]."""
    taken, total = [], 0
    for clip in clips:
        if total >= n_samples:
            break
        taken.append(np.asarray(clip, np.float32)[: n_samples - total])
        total += len(taken[-1])
    return np.concatenate(taken) if taken else np.zeros(0, np.float32)


def save_references(corpus: Any, run_dir: Path, *, seconds: float = REFERENCE_S) -> None:
    """Keep the first ``seconds`` of the train and eval splits (eval falls back to train) in the run dir."""
    n_samples = int(seconds * corpus.sample_rate)
    train = _first_seconds(corpus.audio("train"), n_samples)
    eval_ = _first_seconds(corpus.audio("eval"), n_samples)
    save_npz(Path(run_dir) / REFERENCES, train=train, eval=eval_ if eval_.size else train)


def sample_ratios(audio: np.ndarray, run_dir: Path, *, sample_rate: int) -> dict[str, float]:
    """Ratios of generated audio [num, n_samples] against the run's references, and their mean.

    Returns {"ratio_<figure>": value, ..., "audio_ratio": mean of the clipped ratios, "audio_min":
    their minimum}; a ratio whose floor and ceiling coincide counts as 0. The minimum is the
    stricter judge: a noise sample at the song's loudness scores near the top on Frechet and
    loudness, which can outvote its whitened flatness of 0 in the mean, but not in the minimum.
    """
    from composer.measures.audio_reference import noise_to_song

    references = load_npz(Path(run_dir) / REFERENCES)
    result = noise_to_song(list(np.atleast_2d(audio)), [references["train"]], [references["eval"]],
                           sample_rate=sample_rate)
    ratios = {f"ratio_{name}": 0.0 if value is None else float(value) for name, value in result["audio_ratios"].items()}
    clipped = np.clip(list(ratios.values()), *RATIO_RANGE)
    return {**ratios, "audio_ratio": float(np.mean(clipped)), "audio_min": float(np.min(clipped))}


def with_selection(ratios: dict[str, float], best_by: BestBy, *, beats_baselines: bool) -> dict[str, float]:
    """Add "selection_loss" (lower is better) when the best checkpoint is chosen by how samples sound:
    by the mean of the clipped ratios ("audio_ratio"), by their minimum ("audio_min"), or by the
    lower of the two whitened ratios ("whitened": the figures that steady tones, a level jump or
    a near-silent start do not push above the song's, and a flickering drone not both; clipped
    like the others).

    Checkpoints whose eval loss beats every trivial baseline rank first (their selection loss is
    below any other's: clipped ratios span less than ``BASELINE_PENALTY``), so the sound picks
    among models that also predict held-out audio, whenever there are such models.
    """
    if best_by == "eval_loss":
        return ratios
    score = float(np.clip(min(ratios.get(name, np.inf) for name in SELECTED_BY[best_by]), *RATIO_RANGE))
    return {**ratios, "selection_loss": -score + (0.0 if beats_baselines else BASELINE_PENALTY)}
