"""The event models' held-out likelihood: nats per event on the eval split, beside n-gram baselines.

A model that uses long context predicts events late in a window better than early ones, so the
model's NLL is also reported by the position of each event in its eval window, next to the best
n-gram's (``composer.measures.position``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from composer.errors import CorpusError
from composer.measures.event_likelihood import add_model_figures, baseline_figures
from composer.symbolic import context_gain, ngram_mix
from composer.symbolic.cache import encoded_split
from composer.symbolic.dataset import layout, windows_dataset
from composer.symbolic.encoding import PerformanceEncoding
from composer.train.run import eval_loss


def corpus_baselines(corpus: Any, encoding: PerformanceEncoding | None = None) -> dict:
    """The n-gram baselines of ``corpus`` under ``encoding`` (default Magenta's), with no model."""
    encoding = encoding or PerformanceEncoding()
    train, eval_ = encoded_split(corpus, "train", encoding), encoded_split(corpus, "eval", encoding)
    if not any(len(s) for s in train) or not any(len(s) for s in eval_):
        raise CorpusError(f"corpus '{corpus.name}' needs symbolic chunks in both splits for likelihood baselines")
    return baseline_figures(train, eval_, vocab_size=encoding.num_classes)


def per_event_nll(run: Any, corpus: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A loaded event-model run's NLL of each real eval target [n], its position in its window [n] and the
    window's index [n]."""
    return dataset_nll(run.model, run.family.make_dataset(corpus, run.config, run.meta, split="eval", training=False))


def dataset_nll(model: Any, dataset: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An event model's NLL of each real target of ``dataset``'s windows [n], its position in its window [n] and
    the window's index [n].

    The window's first event is only an input, so a target at index t is the window's event t + 1.
    """
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def nll_of(batch: dict) -> tf.Tensor:
        logits = tf.cast(model(batch, training=False), tf.float32)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=batch["targets"], logits=logits)  # (B, L)

    nll, positions, windows, seen = [], [], [], 0
    for batch in dataset:
        real = batch["weights"].numpy() > 0                                        # (B, L)
        nll.append(nll_of(batch).numpy()[real])
        positions.append(np.broadcast_to(np.arange(1, real.shape[1] + 1), real.shape)[real])
        windows.append(np.broadcast_to(np.arange(seen, seen + real.shape[0])[:, None], real.shape)[real])
        seen += real.shape[0]
    return np.concatenate(nll), np.concatenate(positions), np.concatenate(windows)


def chunks_nll(run: Any, chunks: list[np.ndarray]) -> np.ndarray:
    """A loaded run's NLL of every event of ``chunks`` after each chunk's first [n], scored as the eval split is."""
    from composer.symbolic.event_family import eval_window

    config = run.config
    window = eval_window(chunks, config.eval_window)
    data = layout(chunks, config.encoding, example_events=window, hop=None, controls=config.controls)
    dataset = windows_dataset(data, example_events=window, batch_size=run.family.eval_batch_size(config, window),
                              training=False, seed=config.seed, num_classes=run.meta["num_classes"],
                              controls=config.controls)
    return dataset_nll(run.model, dataset)[0]


def mixture_of(run: Any) -> tuple[ngram_mix.Mixture, dict]:
    """The run's n-gram mixture and its record (the weights fitted on the held-apart slice at first use)."""
    return ngram_mix.load(run, lambda chunks: chunks_nll(run, chunks))


def mixture_figures(run: Any, corpus: Any, nll: np.ndarray) -> dict:
    """The eval NLL of the mixture beside the plain model's and the single weight's (per-event means over the
    same targets)."""
    mixture, record = mixture_of(run)
    mixed, ngram_logp = mixture.target_nll(nll, encoded_split(corpus, "eval", run.config.encoding))
    single = ngram_mix.mixed_nll(nll, ngram_logp, record["weight"])
    return {"eval_nll_per_event_mixture": float(mixed.mean()),
            "ngram_mix": {"weights": mixture.weights.tolist(), "by_context_length": record["by_context_length"],
                          "order": record["order"], "nll_model": float(nll.mean()),
                          "nll_mixture": float(mixed.mean()), "nll_mixture_single": float(single.mean()),
                          "weight_single": record["weight"], "held_apart": {
                              k: record[k] for k in ("nll_model", "nll_ngram", "nll_mixture", "nll_mixture_single",
                                                     "cross_fitted", "held_apart_chunks", "held_apart_targets")}}}


def context_figures(run: Any, corpus: Any) -> dict:
    """``context_gain.context_gain`` of a loaded event-model run on the eval split (a stride keeps it short)."""
    from composer.symbolic.event_family import eval_window

    chunks = encoded_split(corpus, "eval", run.config.encoding)
    window = eval_window(chunks, run.config.eval_window)
    eligible = context_gain.eligible_events([len(chunk) for chunk in chunks], window=window)
    dataset = run.family.make_dataset(corpus, run.config, run.meta, split="eval", training=False)
    return context_gain.context_gain(run.model, dataset, stride=context_gain.stride_for(eligible))


def heldout_likelihood(run: Any, corpus: Any) -> dict:
    """``ModelFamily.heldout_likelihood`` of the event families: the baselines plus the model's figures, the
    length of the windows it was trained on (a model may lose track past it), what the context beyond the last
    32 events buys, and the n-gram mixture's figures when the run has one."""
    nll, positions, windows = per_event_nll(run, corpus)
    figures = add_model_figures(corpus_baselines(corpus, run.config.encoding),
                                nll_per_event=float(eval_loss(run, corpus)), nll=nll, positions=positions,
                                windows=windows)
    figures.update(context_figures(run, corpus))
    return {**figures, "train_window_events": run.config.example_events,
            **(mixture_figures(run, corpus, nll) if run.config.ngram_mix else {})}
