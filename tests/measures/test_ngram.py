"""The n-gram baselines: exact against a plain-dict reference, normalized, and strong."""

from collections import Counter, defaultdict

import numpy as np
import pytest

from composer.errors import ComposerError
from composer.measures.ngram import KneserNey, Unigram, ngram_baselines


def markov_sequences(rng, table, n, *, length=150):
    """Sequences from a sparse order-2 Markov chain ``table`` [V, V, V] (structured, learnable)."""
    vocab, order = table.shape[-1], table.ndim - 1
    out = []
    for _ in range(n):
        s = list(rng.integers(0, vocab, order))
        for _ in range(length):
            s.append(int(rng.choice(vocab, p=table[tuple(s[-order:])])))
        out.append(np.array(s))
    return out


def reference_kn(train, order, vocab):
    """Interpolated modified Kneser-Ney written straight from Chen & Goodman, with tuples."""
    bos = vocab
    grams = [Counter() for _ in range(order + 1)]       # grams[k][(k-gram)]: raw counts at predicted positions
    for seq in train:
        padded = [bos] * (order - 1) + list(seq)
        for t in range(order - 1, len(padded)):
            for k in range(1, order + 1):
                grams[k][tuple(padded[t - k + 1:t + 1])] += 1
    counts = [None] * (order + 1)
    counts[order] = dict(grams[order])
    for k in range(1, order):                         # continuation counts
        counts[k] = Counter(g[1:] for g in grams[k + 1])
    discounts = [None]
    for k in range(1, order + 1):
        n = [sum(1 for c in counts[k].values() if c == r) for r in (1, 2, 3, 4)]
        y = n[0] / (n[0] + 2 * n[1]) if n[0] + 2 * n[1] else 0.5   # documented fallbacks and clipping
        raw = [r - (r + 1) * y * n[r] / n[r - 1] if n[r - 1] else 0.5 * r for r in (1, 2, 3)]
        discounts.append([0.0] + [min(max(d, 0.05 * r), r) for r, d in zip((1, 2, 3), raw)])
    totals = [defaultdict(float) for _ in range(order + 1)]
    gammas = [defaultdict(float) for _ in range(order + 1)]
    for k in range(1, order + 1):
        for gram, c in counts[k].items():
            totals[k][gram[:-1]] += c
            gammas[k][gram[:-1]] += discounts[k][min(int(c), 3)]

    def prob(context, word, k=order):
        if k == 0:
            return 1.0 / vocab
        h = tuple(context[len(context) - (k - 1):]) if k > 1 else ()
        lower = prob(context, word, k - 1)
        if totals[k].get(h, 0) == 0:
            return lower
        c = counts[k].get(h + (word,), 0)
        return (max(c - discounts[k][min(int(c), 3)], 0) + gammas[k][h] * lower) / totals[k][h]

    return prob


@pytest.fixture(scope="module")
def markov():
    rng = np.random.default_rng(0)
    table = rng.dirichlet(np.full(12, 0.05), size=(12, 12))
    return markov_sequences(rng, table, 120), markov_sequences(rng, table, 10)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_reference_implementation(markov, order):
    train, held_out = markov
    model = KneserNey(order, vocab_size=12).fit(train)
    prob = reference_kn(train, order, 12)
    seq = held_out[0][:40]
    expected = [np.log(prob([12] * (order - 1) + list(seq[:t]), int(seq[t]))) for t in range(len(seq))]
    np.testing.assert_allclose(model.log_probs(seq), expected, rtol=1e-9)


@pytest.mark.parametrize("order", [1, 3, 6, 10])
@pytest.mark.parametrize("context", [[], [3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [11] * 12])
def test_probabilities_normalize(markov, order, context):
    model = KneserNey(order, vocab_size=12).fit(markov[0])
    p = model.probabilities(context)
    assert p.shape == (12,) and np.all(p > 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_unigram_is_add_one():
    model = Unigram(vocab_size=4).fit([[0, 0, 1]])
    np.testing.assert_allclose(model.probabilities(), [3 / 7, 2 / 7, 1 / 7, 1 / 7])
    assert model.nll_per_event([[3]]) == pytest.approx(np.log(7))


def test_kneser_ney_beats_unigram_on_structured_sequences(markov):
    train, held_out = markov
    result = ngram_baselines(train, held_out, vocab_size=12, orders=(2, 3, 5))
    assert result["ngram"] < 0.7 * result["unigram"]
    assert result["ngram_order"] in (3, 5)
    assert result["ngram_by_order"]["3"] < result["ngram_by_order"]["2"]


def test_baselines_score_the_events_an_event_model_predicts(markov):
    # A model's targets are each chunk's events after its first (the first is only its input).
    train, held_out = markov
    result = ngram_baselines(train, held_out, vocab_size=12, orders=(3,))
    model = KneserNey(3, vocab_size=12).fit(train)
    later = [np.asarray(s)[1:] for s in held_out]
    assert result["ngram"] == pytest.approx(-np.concatenate([model.log_probs(s)[1:] for s in held_out]).mean())
    unigram = Unigram(vocab_size=12).fit(train)
    assert result["unigram"] == pytest.approx(-unigram.log_p[np.concatenate(later)].mean())
    log_p, length = model.target_log_probs(held_out + [[5]])   # a one-event chunk has no target
    assert log_p.shape == length.shape == (sum(map(len, later)),)


def test_higher_orders_help_on_highly_regular_sequences():
    # Motif A A A B (A = 0123, B = 3210) with rare substitutions: after an A, telling the
    # third A from the second takes 9 events of context, from the first 7.
    rng = np.random.default_rng(1)
    motif = np.array([0, 1, 2, 3] * 3 + [3, 2, 1, 0])

    def piece():
        s = np.tile(motif, 8)
        flip = rng.random(s.size) < 0.02
        s[flip] = rng.integers(0, 6, flip.sum())
        return np.roll(s, rng.integers(0, motif.size))

    train, held_out = [piece() for _ in range(60)], [piece() for _ in range(8)]
    nll = {k: KneserNey(k, vocab_size=6).fit(train).nll_per_event(held_out) for k in (2, 3, 5, 8, 10)}
    assert nll[2] > nll[3] > nll[5] > nll[8] > nll[10]


@pytest.mark.parametrize("call, message", [
    (lambda: KneserNey(0, vocab_size=5), "n-gram order must be within 1..10"),
    (lambda: KneserNey(11, vocab_size=5), "n-gram order must be within 1..10"),
    (lambda: KneserNey(3, vocab_size=5).fit([[0, 5]]), r"\[0, 5\)"),
    (lambda: KneserNey(3, vocab_size=5).fit([[]]), "no events"),
    (lambda: KneserNey(3, vocab_size=5).nll_per_event([[1]]), "not fitted"),
    (lambda: KneserNey(3, vocab_size=5).fit([[1, 2]]).nll_per_event([]), "no events"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ComposerError, match=message):
        call()
