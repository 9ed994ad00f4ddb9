"""What every model over performance events shares as a training-harness family.

The Performance RNN and the Music Transformer read the same encoding, corpus caches, windows,
controls and augmentation, score the same eval windows, and sample through the same loop
(``sampler.py``); they differ only in the network. ``EventConfig`` holds the shared preset
fields and ``EventFamily`` the shared jobs; a family subclasses both and adds ``build_model``.
``meta.json`` records the vocabulary and control layout the model was built with, so a run dir
cannot be used with a config or a generate option that does not fit it.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import tensorflow as tf

from composer.config import TrainConfig
from composer.errors import ConfigError, CorpusError, RunDirError, check_range
from composer.measures.keys import corpus_key_profiles
from composer.symbolic import heldout, ngram_mix, sampling
from composer.symbolic.cache import encoded_split
from composer.symbolic.controls import check_controls, control_dim, note_density, pitch_histogram
from composer.symbolic.dataset import check_tokens, layout, stretched, windows_dataset
from composer.symbolic.encoding import PerformanceEncoding
from composer.train.run import sample_file


@dataclasses.dataclass(frozen=True)
class EventConfig:
    """Preset fields shared by every family over performance events (subclasses set NAME and ``model``)."""

    NAME: ClassVar[str] = ""
    model: str = ""
    seed: int = 0
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(batch_size=64))
    velocity_bins: int = 32             # 0: no velocity events (356 classes)
    program: int | None = None          # None: merge every non-drum instrument
    sustain: bool = True                # apply the sustain pedal to note lengths
    dropout: float = 0.0
    controls: tuple[str, ...] = ()      # "density", "pitch_histogram"
    control_dropout: float = 0.0        # chance each control is hidden in a training window
    example_events: int = 512           # window length L (events per training example)
    example_hop: int = 64               # spacing of training windows within a chunk
    eval_window: int = 2048             # eval windows: a chunk up to this many events is scored whole
    transpose: int = 3                  # train-time transposition, -k..+k semitones
    stretch: tuple[float, ...] = (0.95, 1.05)
    stretch_variants: int = 3           # tempo factors spread over `stretch` (1: no stretch)
    max_note_s: float = 5.0             # generated notes never sound longer
    sample_seconds: float = 10.0        # length of the samples written during training
    temperature: float = 1.0            # generate's default sampling temperature
    guidance: float | None = None       # generate's default guidance scale when a key is asked
    ngram_mix: bool = False             # mix a Kneser-Ney n-gram into the next-event distribution (ngram_mix.py)
    ngram_mix_share: float = 0.05       # share of the train chunks held apart from training to fit its weight
    ngram_mix_by_length: bool = False   # let the weight depend on the n-gram's context length (ngram_mix.py)

    def __post_init__(self) -> None:
        if self.model != self.NAME:
            raise ConfigError(f"model must be '{self.NAME}', got '{self.model}'")
        check_controls(self.controls)
        if len(self.stretch) != 2 or not 0 < self.stretch[0] <= self.stretch[1]:
            raise ConfigError(f"stretch must be [low, high] with 0 < low <= high, got {list(self.stretch)}")
        check_range("example_events", self.example_events, low=2)
        check_range("example_hop", self.example_hop, low=1)
        check_range("eval_window", self.eval_window, low=2)
        check_range("transpose", self.transpose, low=0, high=12)
        check_range("stretch_variants", self.stretch_variants, low=1)
        check_range("control_dropout", self.control_dropout, low=0.0, high=1.0)
        check_range("dropout", self.dropout, low=0.0, high=1.0, open_high=True)
        check_range("max_note_s", self.max_note_s, low=0, open_low=True)
        check_range("temperature", self.temperature, low=0.0)
        check_range("ngram_mix_share", self.ngram_mix_share, low=0.0, high=0.5, open_low=True)
        if self.guidance is not None:
            check_range("guidance", self.guidance, low=0.0)
            if not self.controls or self.control_dropout == 0:
                raise ConfigError("guidance needs controls trained with control_dropout > 0 (the unconditional row)")

    @property
    def encoding(self) -> PerformanceEncoding:
        return PerformanceEncoding(velocity_bins=self.velocity_bins, program=self.program, sustain=self.sustain)


def opening_velocities(chunks: list[np.ndarray], encoding: Any) -> list[list[float]]:
    """[[velocity event, share], ...] of the corpus's chunks' first velocity events, commonest first.

    Training windows mostly start mid-chunk, after the chunk's velocity event, so a model rarely
    learns to open with one; sampling opens each piece with one drawn from these instead of a blind
    default. Drawn, not the commonest alone: in a corpus whose pieces each hold one dynamic (Essen:
    71% at velocity 80, 29% at 90) every piece would otherwise play at the commonest.
    """
    if not encoding.velocity_bins:
        return []
    firsts = [int(chunk[chunk >= encoding.velocity_offset][0]) for chunk in chunks
              if np.any(chunk >= encoding.velocity_offset)]
    events, counts = np.unique(firsts, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return [[int(events[i]), float(counts[i] / counts.sum())] for i in order]


def density_quantiles(chunks: list[np.ndarray], encoding: Any) -> list[float]:
    """The 10th, 50th and 90th percentile of the density control over the train split (notes/s).

    The densities the corpus itself plays: what a density control can be asked and judged on.
    """
    densities = np.concatenate([note_density(chunk, encoding) for chunk in chunks])
    return [round(float(q), 2) for q in np.percentile(densities[densities > 0], [10, 50, 90])]


def key_profiles(chunks: list[np.ndarray], encoding: Any, *, every: int = 32) -> dict[str, list[float]]:
    """The corpus's key profiles (``keys.corpus_key_profiles``) from the pitch-histogram control of
    every ``every``-th event of the train split: the histograms the model learned keys from."""
    histograms = [pitch_histogram(chunk, encoding)[::every] for chunk in chunks if len(chunk)]
    return corpus_key_profiles(np.concatenate(histograms)) if histograms else {}


def check_meta(config: EventConfig, meta: dict) -> None:
    """A RunDirError when meta.json (what was trained) does not fit the config."""
    expected = {"num_classes": config.encoding.num_classes, "controls": list(config.controls),
                "control_dim": control_dim(config.controls)}
    for key, value in expected.items():
        if meta.get(key) != value:
            why = ("the run was trained with an older control encoding: train it again" if key == "control_dim"
                   else "config and run dir do not match")
            raise RunDirError(f"meta.json has {key}={meta.get(key)!r} but the config needs {value!r} ({why})")


def eval_window(chunks: list[np.ndarray], cap: int) -> int:
    """Eval window length: the longest chunk, capped at ``cap``.

    Scoring each chunk from its start with the context carried through it is what the n-gram
    baselines do (their context runs back to the chunk's start); cutting chunks into training-
    length windows from an empty context would charge the model for every restart.
    """
    longest = max((len(chunk) - 1 for chunk in chunks), default=1)
    return max(1, min(longest, cap))


class EventFamily:
    """The ModelFamily jobs shared by models over performance events; subclasses add ``build_model``.

    ``engines``: the sampling engines the model supports, the default first (``engines.ENGINES``).
    """

    name: str
    config_class: type
    output = "midi"
    engines: tuple[str, ...] = ("tf",)

    def prepare(self, corpus: Any, config: EventConfig, run_dir: Path) -> dict:
        """Encode (and cache) both splits once; record vocabulary, controls and data sizes."""
        train = encoded_split(corpus, "train", config.encoding)
        evaluation = encoded_split(corpus, "eval", config.encoding)
        if not train:
            raise CorpusError(f"corpus '{getattr(corpus, 'name', corpus)}' has no symbolic training chunks")
        return {"num_classes": config.encoding.num_classes, "velocity_bins": config.velocity_bins,
                "encoding": config.encoding.fingerprint(), "controls": list(config.controls),
                "control_dim": control_dim(config.controls), "train_chunks": len(train),
                "eval_chunks": len(evaluation), "train_events": int(sum(map(len, train))),
                "eval_events": int(sum(map(len, evaluation))),
                "opening_velocities": opening_velocities(train, config.encoding),
                **({"density_quantiles": density_quantiles(train, config.encoding)} if "density" in config.controls
                   else {}),
                **({"key_profiles": key_profiles(train, config.encoding)} if "pitch_histogram" in config.controls
                   else {}),
                **(ngram_mix.store_train_events(train, config, run_dir) if config.ngram_mix else {})}

    def eval_batch_size(self, config: EventConfig, window: int) -> int:
        """Batch size of eval windows of ``window`` events (a model may need fewer at long windows)."""
        return config.train.batch_size

    def make_dataset(self, corpus: Any, config: EventConfig, meta: dict, *, split: str,
                     training: bool) -> tf.data.Dataset:
        """Windows of ``example_events``; the train split is time-stretched and transposed when training."""
        chunks = encoded_split(corpus, split, config.encoding)
        check_tokens(chunks, meta["num_classes"], corpus=getattr(corpus, "name", str(corpus)), split=split)
        if split == "train":
            chunks = ngram_mix.training_chunks(chunks, config)
        if training:
            chunks = stretched(chunks, config.encoding, low=config.stretch[0], high=config.stretch[1],
                               count=config.stretch_variants)
        length = config.example_events if training else eval_window(chunks, config.eval_window)
        data = layout(chunks, config.encoding, example_events=length,
                      hop=config.example_hop if training else None, controls=config.controls)
        if training and not len(data.starts):
            raise CorpusError(f"corpus '{getattr(corpus, 'name', corpus)}' has no {split} chunks of 2+ events")
        batch_size = config.train.batch_size if training else self.eval_batch_size(config, length)
        return windows_dataset(data, example_events=length, batch_size=batch_size,
                               num_classes=meta["num_classes"], training=training, seed=config.seed,
                               controls=config.controls,
                               transpose=config.transpose if training else 0,
                               control_dropout=config.control_dropout if training else 0.0)

    def compute_loss(self, model: Any, batch: dict, *, training: bool) -> tf.Tensor:
        """Mean negative log-likelihood per real target event (nats)."""
        logits = tf.cast(model(batch, training=training), tf.float32)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=batch["targets"], logits=logits)
        weights = tf.cast(batch["weights"], tf.float32)
        return tf.reduce_sum(nll * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)

    def summarize(self, eval_loss: float, meta: dict) -> dict:
        """The eval loss as nats and bits per event."""
        return {"eval_nll_per_event": eval_loss, "eval_bits_per_event": eval_loss / math.log(2)}

    def write_sample(self, model: Any, config: EventConfig, meta: dict, out_dir: Path, *,
                     step: int) -> list[Path]:
        """A short unconditioned sample (controls absent) so a user hears progress."""
        return sampling.sample_to_midi(model, config, out=sample_file(out_dir, step, ".mid"),
                                       seconds=config.sample_seconds, seed=step)

    def heldout_likelihood(self, run: Any, corpus: Any) -> dict:
        """Nats per event beside the n-gram baselines, and by position in the eval window (``heldout``)."""
        return heldout.heldout_likelihood(run, corpus)

    generate = staticmethod(sampling.generate)  # explicit options, so a foreign flag is a clear error
