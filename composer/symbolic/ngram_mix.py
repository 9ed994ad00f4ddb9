"""The neural + n-gram mixture of an event model: p = (1 - w) * p_model + w * p_ngram (option ``ngram_mix``).

A neural model and a Kneser-Ney n-gram make different errors, and on formulaic tunes the n-gram
recites what the train split holds; mixing their next-event distributions is the classic way to
beat both. With ``ngram_mix`` on, a slice of the train split (``ngram_mix_share`` of its chunks,
picked by the seed) is held apart from training; after training, the n-gram's order (of
``NGRAM_ORDERS``) and its weight are those of the lowest held-apart NLL, with the n-gram fit on
the chunks the model trained on. The n-gram used after that is refit on the whole train split.

The weight is one number, or with ``ngram_mix_by_length`` one per context length: the length of the
longest context before the event that the n-gram saw followed by something in training
(0..order-1). Where it remembers a long context the n-gram is reciting a phrase it knows, and is
mostly right; where it backs off to a short one the neural model knows more (Jelinek and Mercer's
interpolation weights bucketed by context). The weights by context length are kept only when they
earn their place: fitted on one half of the held-apart chunks, they must score the other half (both
ways round) better than one weight fitted the same way. They are off by default: held-apart chunks
may come from pieces whose other chunks the n-gram holds, where it recites more than on unseen
pieces, and on the quartets and Essen the weights so kept scored the eval split no better than one
(benchmarks/RESULTS.md, "Issue 27").

The train events are stored in the run dir at ``prepare`` (``ngram_mix.npz``) and the fit in
``ngram_mix.json`` (made at first use, again when the checkpoint or ``ngram_mix_by_length``
changes), so ``composer generate RUN_DIR`` needs no corpus.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize

from composer.atomic import write_text_atomic
from composer.errors import RunDirError
from composer.measures.event_likelihood import NGRAM_ORDERS
from composer.measures.ngram import KneserNey
from composer.symbolic.ngram_state import NgramState

EVENTS_FILE = "ngram_mix.npz"
WEIGHT_FILE = "ngram_mix.json"


def held_apart(count: int, *, share: float, seed: int) -> np.ndarray:
    """Which of ``count`` train chunks are held apart from training: bool [count], ``share`` of them
    (at least one when there are two or more), drawn by ``seed``."""
    mask = np.zeros(count, bool)
    if count >= 2:
        mask[np.random.default_rng([seed, 27]).permutation(count)[:max(1, round(share * count))]] = True
    return mask


def training_chunks(chunks: list[np.ndarray], config: Any) -> list[np.ndarray]:
    """The train chunks the model trains on: all, or all but the held-apart slice when ``ngram_mix`` is on."""
    if not config.ngram_mix:
        return chunks
    mask = held_apart(len(chunks), share=config.ngram_mix_share, seed=config.seed)
    return [chunk for chunk, held in zip(chunks, mask) if not held]


def store_train_events(chunks: list[np.ndarray], config: Any, run_dir: Path) -> dict:
    """Write the train split's events and the held-apart mask to ``run_dir/ngram_mix.npz``; returns meta keys."""
    mask = held_apart(len(chunks), share=config.ngram_mix_share, seed=config.seed)
    path = Path(run_dir) / EVENTS_FILE
    temporary = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(temporary, events=np.concatenate(chunks).astype(np.int16),
                        lengths=np.array([len(c) for c in chunks], np.int64), held=mask)
    temporary.replace(path)
    return {"ngram_mix_held_apart_chunks": int(mask.sum())}


MIN_LENGTH_TARGETS = 200  # a context length with fewer held-apart targets takes the single weight


@dataclasses.dataclass(frozen=True, eq=False)
class Mixture:
    """A fitted mixture: the n-gram's weight at each context length [order], the n-gram (fit on the whole train
    split) and its stepper."""

    weights: np.ndarray
    ngram: KneserNey
    state: NgramState
    compiled: weakref.WeakKeyDictionary = dataclasses.field(default_factory=weakref.WeakKeyDictionary,
                                                            repr=False)  # model -> TF engine

    @classmethod
    def single(cls, weight: float, ngram: KneserNey) -> "Mixture":
        """The mixture with one weight at every context length."""
        return cls(np.full(ngram.order, float(weight)), ngram, NgramState(ngram))

    def mix_logits(self, logits: np.ndarray, context: np.ndarray) -> np.ndarray:
        """log((1 - w) softmax(logits) + w p_ngram): float32 [R, V] from the model's logits [R, V] and each row's
        n-gram context [R, order], whose length picks the row's weight."""
        weight = self.weights[self.state.context_length(context)][:, None]
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = exp * ((1 - weight) / exp.sum(axis=1, keepdims=True)) + weight * self.state.probabilities(context)
        with np.errstate(divide="ignore"):
            return np.log(probs).astype(np.float32)

    def target_nll(self, model_nll: np.ndarray, chunks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The mixture's NLL of each target [n], from the model's [n] over ``chunks``' events after their first
        (the order in which the eval windows score them), and the n-gram's log-probability of each [n]."""
        ngram_logp, length = self.ngram.target_log_probs(chunks)
        if len(ngram_logp) != len(model_nll):
            raise RunDirError(f"the model scored {len(model_nll)} targets, the n-gram {len(ngram_logp)}")
        return mixed_nll(model_nll, ngram_logp, self.weights[length]), ngram_logp


def mixed_nll(model_nll: np.ndarray, ngram_logp: np.ndarray, weight: float | np.ndarray) -> np.ndarray:
    """-log((1 - w) p_model + w p_ngram) per target, from -log p_model and log p_ngram [n] and w (one or [n])."""
    weight = np.asarray(weight, np.float64)
    with np.errstate(divide="ignore"):
        return -np.logaddexp(np.log1p(-weight) - model_nll, np.log(weight) + ngram_logp)


def fit_weight(model_nll: np.ndarray, ngram_logp: np.ndarray) -> tuple[float, float]:
    """The weight in [0, 1] of lowest mean mixed NLL (a convex 1-D search), and that NLL."""
    cost = lambda w: float(mixed_nll(model_nll, ngram_logp, w).mean())  # noqa: E731
    found = scipy.optimize.minimize_scalar(cost, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-4})
    best = min((0.0, 1.0, float(found.x)), key=cost)
    return best, cost(best)


def fit_weights(model_nll: np.ndarray, ngram_logp: np.ndarray, length: np.ndarray, *, order: int,
                single: float) -> np.ndarray:
    """One weight per context length 0..order-1 [order]; a length met by fewer than ``MIN_LENGTH_TARGETS``
    targets takes ``single``, the weight fitted on all of them."""
    weights = np.full(order, single)
    for k in range(order):
        at = length == k
        if at.sum() >= MIN_LENGTH_TARGETS:
            weights[k] = fit_weight(model_nll[at], ngram_logp[at])[0]
    return weights


def cross_fitted(model_nll: np.ndarray, ngram_logp: np.ndarray, length: np.ndarray, fold: np.ndarray, *,
                 order: int) -> dict:
    """Mean NLL of one weight and of weights by context length, each fitted on one side of ``fold`` (bool [n])
    and scored on the other, both ways round."""
    totals = {"single": 0.0, "by_context_length": 0.0}
    for scored in (fold, ~fold):
        fitted = ~scored
        single = fit_weight(model_nll[fitted], ngram_logp[fitted])[0]
        weights = {"single": single,
                   "by_context_length": fit_weights(model_nll[fitted], ngram_logp[fitted], length[fitted],
                                                    order=order, single=single)[length[scored]]}
        for name, weight in weights.items():
            totals[name] += float(mixed_nll(model_nll[scored], ngram_logp[scored], weight).sum())
    return {name: total / len(model_nll) for name, total in totals.items()}


def fit_order(trained: list[np.ndarray], apart: list[np.ndarray], model_nll: np.ndarray, *, order: int,
              vocab: int, by_length: bool) -> dict:
    """The mixture with a ``order``-gram fit on ``trained``, weighted on the held-apart chunks ``apart`` (alternate
    chunks make the two folds); ``model_nll``: the model's NLL of their targets. ``by_length``: weights by
    context length may be kept (when they beat one weight across the folds)."""
    ngram_logp, length = KneserNey(order, vocab_size=vocab).fit(trained).target_log_probs(apart)
    weight, nll_single = fit_weight(model_nll, ngram_logp)
    fold = np.repeat(np.arange(len(apart)) % 2 == 0, [len(chunk) - 1 for chunk in apart])
    cross = cross_fitted(model_nll, ngram_logp, length, fold, order=order) if len(apart) >= 2 else None
    by_length = by_length and cross is not None and cross["by_context_length"] < cross["single"]
    weights = (fit_weights(model_nll, ngram_logp, length, order=order, single=weight) if by_length
               else np.full(order, weight))
    return {"weights": weights.tolist(), "by_context_length": by_length, "weight": weight,
            "nll_mixture": float(mixed_nll(model_nll, ngram_logp, weights[length]).mean()),
            "nll_mixture_single": nll_single, "nll_ngram": float(-ngram_logp.mean()), "cross_fitted": cross,
            "nll_chosen_cross_fitted": cross["by_context_length" if by_length else "single"] if cross else None,
            "targets_by_context_length": np.bincount(length, minlength=order).tolist()}


def _train_events(run_dir: Path) -> tuple[list[np.ndarray], np.ndarray]:
    path = Path(run_dir) / EVENTS_FILE
    if not path.is_file():
        raise RunDirError(f"{run_dir}: no {EVENTS_FILE} (the run was trained without ngram_mix: train it with "
                          "--set ngram_mix=true)")
    with np.load(path) as stored:
        chunks = np.split(stored["events"].astype(np.int32), np.cumsum(stored["lengths"])[:-1])
        return chunks, stored["held"]


def fit(run: Any, score: Any) -> dict:
    """Fit the n-gram's order and weights on the held-apart slice; ``score(chunks) -> model NLL per target``.

    The order is the one of lowest cross-fitted NLL (of the scheme it keeps). Returns the record written to
    ``ngram_mix.json``.
    """
    chunks, held = _train_events(run.run_dir)
    trained = [c for c, h in zip(chunks, held) if not h]
    apart = [c for c, h in zip(chunks, held) if h and len(c) >= 2]
    if not apart:
        raise RunDirError(f"{run.run_dir}: the held-apart slice has no chunk of 2+ events to fit the weight on")
    model_nll = score(apart)
    allowed = run.config.ngram_mix_by_length
    fits = {order: fit_order(trained, apart, model_nll, order=order, vocab=run.meta["num_classes"],
                             by_length=allowed) for order in NGRAM_ORDERS}
    order = min(fits, key=lambda k: fits[k]["nll_chosen_cross_fitted"] if fits[k]["cross_fitted"]
                else fits[k]["nll_mixture"])
    return {"step": run.step, "order": order, "by_length_allowed": allowed, **fits[order],
            "nll_model": float(model_nll.mean()),
            "held_apart_chunks": len(apart), "held_apart_targets": int(len(model_nll)),
            "by_order": {str(k): v for k, v in fits.items()}}


def load(run: Any, score: Any) -> tuple[Mixture, dict]:
    """The run's mixture and its record, fitting (and recording) the weights when the checkpoint or the
    weighting asked for is new."""
    path = Path(run.run_dir) / WEIGHT_FILE
    record = json.loads(path.read_text()) if path.is_file() else None
    if (record is None or record.get("step") != run.step or "weights" not in record
            or record.get("by_length_allowed") != run.config.ngram_mix_by_length):
        record = fit(run, score)
        write_text_atomic(path, json.dumps(record, indent=2) + "\n")
    return _mixture(str(run.run_dir), record["order"], tuple(record["weights"]), run.meta["num_classes"]), record


@functools.lru_cache(maxsize=2)
def _mixture(run_dir: str, order: int, weights: tuple[float, ...], vocab: int) -> Mixture:
    chunks, _ = _train_events(Path(run_dir))
    ngram = KneserNey(order, vocab_size=vocab).fit(chunks)
    return Mixture(np.array(weights), ngram, NgramState(ngram))


class MixedEngine:
    """A step engine (``engines.Engine``) whose logits are the mixture's: each row's n-gram state reads the
    event the model reads, and follows its row when beam search reorders them.

    With classifier-free guidance both halves (asked and hidden controls) are mixed, then guided.
    """

    def __init__(self, engine: Any, mixture: Mixture) -> None:
        self.engine, self.mixture = engine, mixture
        self.control_dim = engine.control_dim

    def initial_state(self, batch: int) -> tuple:
        return self.engine.initial_state(batch), self.mixture.state.initial(batch)

    def step(self, events: np.ndarray, controls: np.ndarray | None, state: tuple) -> tuple[np.ndarray, tuple]:
        inner, context = state
        logits, inner = self.engine.step(events, controls, inner)
        context = self.mixture.state.advance(context, np.asarray(events, np.int64))
        return self.mixture.mix_logits(np.asarray(logits), context), (inner, context)

    def reorder(self, state: tuple, rows: np.ndarray) -> tuple:
        return self.engine.reorder(state[0], rows), state[1][rows]
