"""The LSTM+VAE as a model family of the shared harness (``composer.train.family.ModelFamily``).

The config is ``config.py``, the data and baselines ``features.py``, sampling ``generate.py``; the
loss is the next-frame loss of ``model.py`` in nats per frame. Run dir files besides the
harness's: ``normalization.npz`` (per-feature mean/std) and ``primers.npz`` (a few windows of
corpus audio that ``generate`` warms the network on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from composer.audio import listening
from composer.audio import primers as primers_
from composer.audio.lstm_vae.config import LstmVaeConfig
from composer.audio.lstm_vae.features import (
    NORMALIZATION,
    baseline_losses,
    normalized_split,
    predictor_errors,
    split_features,
)
from composer.audio.lstm_vae.generate import generate, training_sample
from composer.audio.output import write_generated
from composer.audio.transforms import Normalizer, save_npz
from composer.errors import CorpusError
from composer.train.run import eval_loss, sample_file

# The smallest starting scale of a feature: tinier ones turn the untrained decoder's first errors in
# near-silent bands into huge losses; training lowers them further where the data allows.
MIN_SCALE_INIT = 0.01


def pick_primers(corpus: Any, config: LstmVaeConfig, seed: int) -> np.ndarray:
    """Up to N_PRIMERS windows of primer audio [n, primer_samples] (composer.audio.primers)."""
    return primers_.pick_windows(corpus, n_samples=max(config.primer_frames * config.hop, config.frame_size),
                                 seed=seed)


class LstmVaeFamily:
    """The ModelFamily of composer.train.family for the LSTM+VAE."""

    name = "lstm-vae"
    config_class = LstmVaeConfig
    output = "audio"

    def prepare(self, corpus: Any, config: LstmVaeConfig, run_dir: Path) -> dict:
        """Normalization statistics (train split), primer windows and eval baselines."""
        counts = corpus.chunk_counts()
        if not counts["train"]["audio"]:
            raise CorpusError(f"corpus '{corpus.name}' has no audio in its train split; add audio files or run "
                              f"`composer corpus render-audio {corpus.name}`")
        normalizer = Normalizer.fit(split_features(corpus, config, "train"))
        normalizer.save(Path(run_dir) / NORMALIZATION)
        primers = pick_primers(corpus, config, config.seed)
        save_npz(Path(run_dir) / primers_.PRIMERS, audio=primers)
        listening.save_references(corpus, run_dir)
        split = "eval" if counts["eval"]["audio"] else "train"
        window = config.sequence_frames + 1
        errors = {s: predictor_errors(*normalized_split(corpus, config, normalizer, s, training=False), window)
                  for s in {"train", split}}
        return {"sample_rate": int(corpus.sample_rate), "feature_dim": config.spec.feature_dim,
                "frames_per_second": corpus.sample_rate / config.hop, "eval_split": split,
                "baseline_eval_loss": baseline_losses(errors["train"], errors[split]),
                "run_dir": str(Path(run_dir).resolve())}

    def build_model(self, config: LstmVaeConfig, meta: dict) -> Any:
        """The LstmVae with its variables created."""
        import tensorflow as tf

        from composer.audio.lstm_vae.model import LstmVae

        spread = Normalizer.load(Path(meta["run_dir"]) / NORMALIZATION).spread if "run_dir" in meta else None
        model = LstmVae(feature_dim=meta["feature_dim"], cell=config.cell, layers=config.layers,
                        units=config.units, latent_dim=config.latent_dim, decoder_units=config.decoder_units,
                        beta=config.beta, kl_warmup_steps=config.kl_warmup_steps,
                        log_scale_init=None if spread is None else np.log(np.maximum(spread, MIN_SCALE_INIT)))
        model(tf.zeros([1, 2, meta["feature_dim"]]))
        return model

    def make_dataset(self, corpus: Any, config: LstmVaeConfig, meta: dict, *, split: str, training: bool) -> Any:
        """Batches of windows [batch, sequence_frames + 1, feature_dim] from in-memory features."""
        import tensorflow as tf

        normalizer = Normalizer.load(Path(meta["run_dir"]) / NORMALIZATION)
        if split == "eval":
            split = meta.get("eval_split", "eval")
        features, starts = normalized_split(corpus, config, normalizer, split, training=training)
        table = tf.constant(features)
        size = [config.sequence_frames + 1, features.shape[1]]
        dataset = tf.data.Dataset.from_tensor_slices(starts)
        if training:
            dataset = dataset.shuffle(min(len(starts), 65536), seed=config.seed).repeat()
        dataset = dataset.map(lambda s: tf.slice(table, tf.stack([s, 0]), size), num_parallel_calls=2,
                              deterministic=True)
        return dataset.batch(config.train.batch_size, drop_remainder=training).prefetch(2)

    def compute_loss(self, model: Any, batch: Any, *, training: bool) -> Any:
        """Mean over frames of reconstruction + KL weight * KL; training steps advance the warm-up."""
        import tensorflow as tf

        reconstruction, kl = model.frame_losses(batch, training=training)
        if not training:
            return tf.reduce_mean(reconstruction + model.beta * kl)
        loss = tf.reduce_mean(reconstruction + model.kl_weight() * kl)
        model.step.assign_add(1)
        return loss

    def summarize(self, eval_loss: float, meta: dict) -> dict:
        """eval_loss next to the trivial predictors' losses in the same units."""
        return {"eval_loss": eval_loss, "baseline_eval_loss": meta["baseline_eval_loss"]}

    def write_sample(self, model: Any, config: LstmVaeConfig, meta: dict, out_dir: Path, *, step: int) -> list[Path]:
        """A ``sample_seconds`` wav primed on the first stored primer."""
        audio = training_sample(model, config, meta, seconds=config.sample_seconds, seed=step)
        return write_generated(audio, meta["sample_rate"], sample_file(out_dir, step, ".wav"), warn=False)

    def listen(self, model: Any, config: LstmVaeConfig, meta: dict, *, step: int,
               eval_loss: float) -> dict[str, float]:
        """Noise-to-song ratios of a ``listen_seconds`` sample (composer.audio.listening)."""
        run_dir = Path(meta["run_dir"])
        if not config.listen_seconds or not (run_dir / listening.REFERENCES).is_file():  # a run from before listening
            return {}
        audio = training_sample(model, config, meta, seconds=config.listen_seconds, seed=step)
        ratios = listening.sample_ratios(audio, run_dir, sample_rate=meta["sample_rate"])
        beats = eval_loss < min(meta["baseline_eval_loss"].values())
        return listening.with_selection(ratios, config.best_by, beats_baselines=beats)

    def heldout_likelihood(self, run: Any, corpus: Any) -> dict:
        """Eval loss (nats per frame) beside the trivial predictors' losses that ``prepare`` scored on
        the same eval windows (repeat the last frame, the mean frame)."""
        return {"eval_loss": eval_loss(run, corpus), "baseline_eval_loss": run.meta["baseline_eval_loss"]}

    generate = staticmethod(generate)  # explicit options, so a foreign flag is a clear error


FAMILY = LstmVaeFamily()
