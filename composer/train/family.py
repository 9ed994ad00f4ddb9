"""What a model family gives the shared training harness, and how families are found.

A family (Performance RNN, Music Transformer, LSTM+VAE, SampleRNN) supplies only: its config
class, a one-time ``prepare`` over the corpus (caches, normalization statistics, vocabulary), how
to build the Keras model, how batches look, its loss, how to sample, and its held-out likelihood
beside its own baselines. The harness in ``composer.train.trainer`` does everything else once:
optimizer, checkpoints, resume, NaN guard, evaluation, logs, distribution; ``composer evaluate``
adds the measures that apply to any MIDI or audio (``composer.evaluate``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Literal, Protocol

from composer.errors import ConfigError

# name -> "module:attribute" of a ModelFamily instance; imported lazily so the CLI starts fast.
FAMILIES: dict[str, str] = {
    "performance-rnn": "composer.symbolic.performance_rnn.family:FAMILY",
    "music-transformer": "composer.symbolic.music_transformer.family:FAMILY",
    "lstm-vae": "composer.audio.lstm_vae.family:FAMILY",
    "samplernn": "composer.audio.samplernn.family:FAMILY",
}
SUFFIXES = {"midi": ".mid", "audio": ".wav"}  # the default file type of each kind of ``ModelFamily.output``


class ModelFamily(Protocol):
    """The contract between a model family and the harness.

    Datasets must be built from in-memory arrays (``from_tensor_slices`` and friends, never
    ``from_generator``) so the harness can checkpoint the iterator and resume at the same
    data position. The iterator checkpoint holds the shuffle buffer's contents: shuffle example
    indices and ``tf.gather`` the arrays after (``Dataset.range(n).shuffle(n).map(gather)``), or
    a full-corpus shuffle of examples is copied into every checkpoint.
    """

    name: str            # "performance-rnn", "lstm-vae", "samplernn"
    config_class: type   # frozen dataclass with a ``train: TrainConfig`` field and a ``seed: int``
    output: Literal["midi", "audio"]  # what ``generate`` writes: picks the file checks and the measures

    def prepare(self, corpus: Any, config: Any, run_dir: Path) -> dict:
        """Compute what training and sampling need from the corpus once (caches, statistics).

        Returns JSON-serializable metadata; the harness stores it as ``run_dir/meta.json`` and
        passes it back to every other method. Large arrays go into files under ``run_dir``.
        """

    def build_model(self, config: Any, meta: dict) -> Any:
        """Build the ``keras.Model`` with all its variables created (so checkpoints restore).

        Layers may be kept in plain Python lists: ``run.model_checkpoint`` saves ``model.variables``,
        which Keras 3 collects from lists although TensorFlow's checkpoint graph does not.

        A family that carries recurrent state across batches (truncated BPTT) keeps it in
        non-trainable variables of the model, updated inside ``compute_loss``; the harness
        checkpoints them with the rest of the model.
        """

    def make_dataset(self, corpus: Any, config: Any, meta: dict, *, split: str, training: bool) -> Any:
        """A ``tf.data.Dataset`` of batches for ``split`` ("train" or "eval").

        training=True: shuffled with ``config.seed``, augmented, repeated forever.
        training=False: finite, deterministic.
        """

    def compute_loss(self, model: Any, batch: Any, *, training: bool) -> Any:
        """Scalar mean loss (float32, natural units: nats per event/sample/frame) for one batch."""

    def summarize(self, eval_loss: float, meta: dict) -> dict:
        """Extra metrics derived from an eval loss (e.g. bits per sample) for metrics.json."""

    def write_sample(self, model: Any, config: Any, meta: dict, out_dir: Path, *, step: int) -> list[Path]:
        """Write a short generated sample (a .mid or .wav) so a user hears training progress."""

    def generate(self, run_dir: Path, *, out: Path, **options: Any) -> list[Path]:
        """Inference API: rebuild from ``run_dir`` and write ``options['num']`` files at ``out``."""

    def heldout_likelihood(self, run: Any, corpus: Any) -> dict:
        """The loaded ``run``'s (``composer.train.run.Run``) likelihood on the eval split of ``corpus``.

        Returns ``composer evaluate``'s keys for it (docs/interfaces.md): the figure in the family's
        own units next to the baselines that say whether it is any good (n-grams for events, a
        unigram over sample values, trivial next-frame predictors), fit on the same corpus.
        """

    # Optional: def listen(self, model, config, meta, *, step, eval_loss) -> dict[str, float]
    #   Figures of a short sample (e.g. the raw-audio families' noise-to-song ratios), logged with
    #   each evaluation; a "selection_loss" among them (lower is better) picks the best checkpoint
    #   in place of the eval loss. Families without it are judged by eval loss alone.


def get_family(name: str) -> ModelFamily:
    """Return the family registered under ``name`` or raise a ConfigError listing the valid ones."""
    if name not in FAMILIES:
        raise ConfigError(f"unknown model '{name}' (valid: {', '.join(FAMILIES)})")
    module_name, attribute = FAMILIES[name].split(":")
    return getattr(importlib.import_module(module_name), attribute)
