"""N-gram baselines for held-out likelihood of event sequences (nats per event).

``KneserNey`` is interpolated modified Kneser-Ney (Chen & Goodman 1998, "An empirical study of
smoothing techniques for language modeling", section 3): three discounts per order estimated
from counts-of-counts, continuation counts for every order below the highest, interpolation
down to a uniform distribution over the vocabulary. ``Unigram`` is add-one smoothed.

Counting is vectorized: the k-gram ending at each position gets an integer id from the pair
(id of its (k-1)-gram suffix, the token prepended), found with ``np.unique``; so the ids of a
k-gram's backoff chain and of its context chain are one ``searchsorted`` per order. Each
sequence is left-padded with ``order - 1`` begin tokens (id ``vocab_size``), which appear in
contexts only and are never predicted; the end of a sequence is not modelled, as the neural
models do not predict one either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from composer.errors import ComposerError, check_range

MAX_ORDER = 10


@dataclass
class _OrderTable:
    """Statistics of one order k (k-grams, and k-grams used as contexts of order k+1)."""

    keys: np.ndarray         # int64 [n_k] sorted: suffix_id * (V + 1) + first token
    counts: np.ndarray       # float64 [n_k] raw (top order) or continuation counts
    discounts: np.ndarray    # float64 [4]: D(0)=0, D(1), D(2), D(3+)
    ctx_total: np.ndarray    # float64 [n_k] sum of order-(k+1) counts following this k-gram
    ctx_gamma: np.ndarray    # float64 [n_k] interpolation mass numerator D1*N1 + D2*N2 + D3*N3+


def _check_sequences(sequences: Iterable[Sequence[int]], vocab_size: int) -> list[np.ndarray]:
    arrays = [np.asarray(s, dtype=np.int64).reshape(-1) for s in sequences]
    for i, arr in enumerate(arrays):
        if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
            raise ComposerError(
                f"sequence {i}: event ids must lie in [0, {vocab_size}), got [{arr.min()}, {arr.max()}]")
    return arrays


def _padded(arrays: list[np.ndarray], pad: int, bos: int) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate sequences with ``pad`` begin tokens each.

    Returns (tokens [T], local_index [T]) where local_index counts from each padded start.
    """
    lengths = np.array([a.size + pad for a in arrays], dtype=np.int64)
    tokens = np.concatenate([np.concatenate([np.full(pad, bos, np.int64), a]) for a in arrays]) \
        if arrays else np.zeros(0, np.int64)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return tokens, np.arange(tokens.size, dtype=np.int64) - starts


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Chen & Goodman's modified-KN discounts D(1), D(2), D(3+) from counts-of-counts."""
    n = [np.count_nonzero(counts == r) for r in (1, 2, 3, 4)]
    y = n[0] / (n[0] + 2 * n[1]) if n[0] + 2 * n[1] > 0 else 0.5
    d = np.zeros(4)
    for r in (1, 2, 3):
        value = r - (r + 1) * y * n[r] / n[r - 1] if n[r - 1] > 0 else 0.5 * r
        # A discount must leave mass for unseen events (> 0) and never exceed the count.
        d[r] = float(np.clip(value, 0.05 * r, r))
    return d


def _lookup(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each query in sorted ``keys``, -1 where absent."""
    if keys.size == 0:
        return np.full(query.shape, -1, np.int64)
    idx = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    return np.where(keys[idx] == query, idx, -1)


class KneserNey:
    """Interpolated modified Kneser-Ney n-gram model over integer events.

    Args:
      order: n, from 1 to 10.
      vocab_size: V; events are ids in [0, V) (388 for the Performance RNN encoding).
    """

    def __init__(self, order: int, *, vocab_size: int) -> None:
        check_range("n-gram order", order, low=1, high=MAX_ORDER, error=ComposerError)
        check_range("vocab_size", vocab_size, low=1, error=ComposerError)
        self.order = order
        self.vocab_size = vocab_size
        self._tables: list[_OrderTable] = []

    def fit(self, sequences: Iterable[Sequence[int]]) -> "KneserNey":
        """Count k-grams (k = 1..order) of the train sequences; returns self."""
        arrays = _check_sequences(sequences, self.vocab_size)
        if sum(a.size for a in arrays) == 0:
            raise ComposerError("cannot fit an n-gram model on no events")
        n = self.order
        tokens, local = _padded(arrays, n - 1, self.vocab_size)
        predicted = local >= n - 1
        ids = [np.zeros(tokens.size, np.int64)]  # ids[k][t]: id of the k-gram ending at t, -1 if none
        keys = [np.zeros(1, np.int64)]            # order 0: the empty context, id 0
        for k in range(1, n + 1):
            key, valid = self._keys(k, tokens, local, ids[k - 1])
            unique, inverse = np.unique(key[valid], return_inverse=True)
            ids.append(np.full(tokens.size, -1, np.int64))
            ids[k][valid] = inverse
            keys.append(unique)
        counts = [np.zeros(1)] + [self._counts(k, ids, keys, predicted) for k in range(1, n + 1)]
        discounts = [np.zeros(4)] + [_discounts(c) for c in counts[1:]]
        self._tables = []
        for k in range(n + 1):
            total, gamma = np.zeros(keys[k].size), np.zeros(keys[k].size)
            if k < n:  # order-k ids as contexts: sum the order-(k+1) statistics by prefix
                prefix = self._prefixes(k + 1, ids, keys[k + 1].size)
                child = counts[k + 1]
                total = np.bincount(prefix, weights=child, minlength=keys[k].size)
                gamma = np.bincount(prefix, weights=discounts[k + 1][np.minimum(child, 3).astype(np.int64)],
                                    minlength=keys[k].size)
            self._tables.append(_OrderTable(keys[k], counts[k], discounts[k], total, gamma))
        return self

    def _keys(self, k: int, tokens: np.ndarray, local: np.ndarray, suffix_ids: np.ndarray):
        """Keys of the k-grams ending at each position, from their (k-1)-gram suffix ids.

        Returns (key int64 [T], valid bool [T]); invalid where the k-gram would leave its
        padded sequence or its suffix is unknown.
        """
        valid = (local >= k - 1) & (suffix_ids >= 0)
        first = np.roll(tokens, k - 1)            # the token k-1 steps back
        return np.where(valid, suffix_ids * (self.vocab_size + 1) + first, -1), valid

    def _counts(self, k: int, ids: list[np.ndarray], keys: list[np.ndarray], predicted: np.ndarray) -> np.ndarray:
        """Raw counts at the top order; below it, continuation counts N1+(. w_k)."""
        size = keys[k].size
        if k == self.order:
            return np.bincount(ids[k][predicted], minlength=size).astype(np.float64)
        longer = np.unique(ids[k + 1][predicted])
        suffix = keys[k + 1][longer] // (self.vocab_size + 1)
        return np.bincount(suffix, minlength=size).astype(np.float64)

    @staticmethod
    def _prefixes(k: int, ids: list[np.ndarray], size: int) -> np.ndarray:
        """For each k-gram id, the id of its (k-1)-gram prefix (the context it follows)."""
        prefix = np.zeros(size, np.int64)
        here = ids[k] >= 0
        prefix[ids[k][here]] = np.roll(ids[k - 1], 1)[here]
        return prefix

    @property
    def tables(self) -> list[_OrderTable]:
        """The fitted statistics of orders 0..n (order 0: the empty context), for readers such as
        ``composer.symbolic.ngram_state`` that step the model event by event."""
        if not self._tables:
            raise ComposerError("the n-gram model is not fitted yet (call fit first)")
        return self._tables

    def log_probs(self, sequence: Sequence[int]) -> np.ndarray:
        """Natural-log probability of each event given the events before it. Shape [len]."""
        return self._log_probs(_check_sequences([sequence], self.vocab_size))[0]

    def log_probs_and_context(self, sequence: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``log_probs`` and, for each event, the length (0..order-1) of the longest context before it
        that was followed by something in training: how much of the n-gram's memory the event meets."""
        return self._log_probs(_check_sequences([sequence], self.vocab_size))

    def target_log_probs(self, sequences: Iterable[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """``log_probs_and_context`` of each event after its sequence's first [n], [n]: the targets an event
        model scores (a chunk's first event is only its input), so the two compare event for event."""
        arrays = [a for a in _check_sequences(sequences, self.vocab_size) if a.size >= 2]
        if not arrays:
            return np.zeros(0), np.zeros(0, np.int64)
        log_p, length = self._log_probs(arrays)
        later = np.ones(log_p.size, bool)
        later[np.cumsum([0] + [a.size for a in arrays[:-1]])] = False
        return log_p[later], length[later]

    def nll_per_event(self, sequences: Iterable[Sequence[int]]) -> float:
        """Mean negative log-likelihood (nats per event) over all events of ``sequences``."""
        arrays = [a for a in _check_sequences(sequences, self.vocab_size) if a.size]
        if not arrays:
            raise ComposerError("cannot score an n-gram model on no events")
        return float(-self._log_probs(arrays)[0].mean())

    def probabilities(self, context: Sequence[int]) -> np.ndarray:
        """The next-event distribution after ``context``. Shape [V], sums to 1."""
        context = list(np.asarray(context, dtype=np.int64).reshape(-1))
        candidates = [context + [w] for w in range(self.vocab_size)]
        arrays = _check_sequences(candidates, self.vocab_size)
        last = np.cumsum([a.size for a in arrays]) - 1
        return np.exp(self._log_probs(arrays)[0][last])

    def _log_probs(self, arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if not self._tables:
            raise ComposerError("the n-gram model is not fitted yet (call fit first)")
        n, tables = self.order, self._tables
        tokens, local = _padded(arrays, n - 1, self.vocab_size)
        predicted = local >= n - 1
        prob = np.full(int(predicted.sum()), 1.0 / self.vocab_size)
        context_length = np.zeros(prob.size, np.int64)
        ids = np.zeros(tokens.size, np.int64)
        for k in range(1, n + 1):
            context = np.roll(ids, 1)[predicted]  # (k-1)-gram ending just before each event
            key, valid = self._keys(k, tokens, local, ids)
            ids = np.where(valid, _lookup(tables[k].keys, key), -1)
            gram = ids[predicted]
            seen = context >= 0
            total = np.where(seen, tables[k - 1].ctx_total[np.maximum(context, 0)], 0.0)
            gamma = np.where(seen, tables[k - 1].ctx_gamma[np.maximum(context, 0)], 0.0)
            count = np.where(gram >= 0, tables[k].counts[np.maximum(gram, 0)], 0.0)
            discount = tables[k].discounts[np.minimum(count, 3).astype(np.int64)]
            interpolated = (np.maximum(count - discount, 0.0) + gamma * prob) / np.maximum(total, 1e-300)
            prob = np.where(total > 0, interpolated, prob)
            context_length += (total > 0) & (k > 1)
        return np.log(prob), context_length


class Unigram:
    """Add-one smoothed unigram: the floor every sequence model must beat."""

    def __init__(self, *, vocab_size: int) -> None:
        check_range("vocab_size", vocab_size, low=1, error=ComposerError)
        self.vocab_size = vocab_size
        self.log_p = np.full(vocab_size, -np.log(vocab_size))

    def fit(self, sequences: Iterable[Sequence[int]]) -> "Unigram":
        arrays = _check_sequences(sequences, self.vocab_size)
        counts = np.bincount(np.concatenate(arrays) if arrays else np.zeros(0, np.int64),
                             minlength=self.vocab_size) + 1.0
        self.log_p = np.log(counts / counts.sum())
        return self

    def probabilities(self) -> np.ndarray:
        return np.exp(self.log_p)

    def nll_per_event(self, sequences: Iterable[Sequence[int]]) -> float:
        arrays = [a for a in _check_sequences(sequences, self.vocab_size) if a.size]
        if not arrays:
            raise ComposerError("cannot score a unigram model on no events")
        return float(-self.log_p[np.concatenate(arrays)].mean())


def ngram_baselines(train: Sequence[Sequence[int]], eval_: Sequence[Sequence[int]], *, vocab_size: int,
                    orders: Sequence[int] = (3, 5, 7, 10)) -> dict:
    """Held-out nats per event of the unigram and of KN n-grams of each order, over each eval chunk's events
    after its first: the targets an event model scores (its first event is only the model's input, and
    the hardest to guess: a segment cut from a tune starts anywhere).

    Returns {"unigram", "ngram" (best order's), "ngram_order", "ngram_by_order": {"3": ...}}.
    """
    later = [chunk[1:] for chunk in eval_ if len(chunk) >= 2]
    if not later:
        raise ComposerError("cannot score baselines on no eval chunk of two or more events")
    by_order = {str(k): float(-KneserNey(k, vocab_size=vocab_size).fit(train).target_log_probs(eval_)[0].mean())
                for k in orders}
    best = min(by_order, key=by_order.get)
    return {"unigram": Unigram(vocab_size=vocab_size).fit(train).nll_per_event(later),
            "ngram": by_order[best], "ngram_order": int(best), "ngram_by_order": by_order}
