"""What a within-piece cache adds to the Kneser-Ney n-gram: held-out nats/event of the n-gram alone and mixed
with a model of the piece's own history so far (Kuhn and De Mori's cache, here variable-order).

Usage: python benchmarks/piece_cache.py CORPUS [--root DIR] [--orders 12]

The cache predicts event t from events 0..t-1 of the same eval chunk: Witten-Bell interpolation over the
contexts of length 0..orders that occurred earlier in the chunk, down to uniform. Its weight in the mixture is
fitted on the held-apart 5% of train chunks (the n-gram fitted on the rest, as ``ngram_mix`` does), once as a
single weight and once per length of the longest context the cache matched; the n-gram scoring the eval split
is fitted on the whole train split. Both are scored on each chunk's events after its first (the targets an
event model scores). Prints one Markdown row.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from composer.corpus import Corpus
from composer.measures.ngram import KneserNey
from composer.symbolic.cache import encoded_split
from composer.symbolic.encoding import PerformanceEncoding
from composer.symbolic.ngram_mix import fit_weight, held_apart, mixed_nll

ORDER = 10  # the n-gram: Essen's and the chorales' best


def cache_targets(chunk: np.ndarray, *, orders: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """The cache's log-probability of each event after the chunk's first [n], and the length + 1 of the longest
    context it had seen earlier in the chunk (0: none) [n]."""
    followers = defaultdict(lambda: defaultdict(int))   # context tuple -> next event -> count
    events, log_p, matched = chunk.tolist(), [], []
    for t, event in enumerate(events):
        if t:
            p, longest = 1.0 / vocab, 0
            for k in range(min(orders, t) + 1):
                seen = followers.get(tuple(events[t - k:t]))
                if not seen:
                    break
                total, distinct = sum(seen.values()), len(seen)
                p, longest = (seen.get(event, 0) + distinct * p) / (total + distinct), k + 1
            log_p.append(np.log(p))
            matched.append(longest)
        for k in range(min(orders, t) + 1):
            followers[tuple(events[t - k:t])][event] += 1
    return np.array(log_p), np.array(matched, np.int64)


def scored(ngram: KneserNey, chunks: list[np.ndarray], *, orders: int) -> tuple[np.ndarray, ...]:
    """The n-gram's and the cache's log-probabilities of the same targets, and the cache's match lengths."""
    chunks = [chunk for chunk in chunks if len(chunk) >= 2]
    cache = [cache_targets(chunk, orders=orders, vocab=ngram.vocab_size) for chunk in chunks]
    return (ngram.target_log_probs(chunks)[0], np.concatenate([c[0] for c in cache]),
            np.concatenate([c[1] for c in cache]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--root", default=None)
    parser.add_argument("--orders", type=int, default=12, help="the cache's longest context")
    args = parser.parse_args()
    encoding = PerformanceEncoding()
    corpus = Corpus.open(args.corpus, root=args.root)
    train, eval_ = encoded_split(corpus, "train", encoding), encoded_split(corpus, "eval", encoding)
    apart = held_apart(len(train), share=0.05, seed=0)
    vocab = encoding.num_classes
    fit_ngram = KneserNey(ORDER, vocab_size=vocab).fit([c for c, held in zip(train, apart) if not held])
    held_ngram, held_cache, held_match = scored(fit_ngram, [c for c, held in zip(train, apart) if held],
                                                orders=args.orders)
    ngram, cache, match = scored(KneserNey(ORDER, vocab_size=vocab).fit(train), eval_, orders=args.orders)
    # ngram_mix's weight search, with the n-gram in the model's place and the cache in the n-gram's
    single = fit_weight(-held_ngram, held_cache)[0]
    by_match = np.array([fit_weight(-held_ngram[held_match == k], held_cache[held_match == k])[0]
                         if (held_match == k).sum() >= 100 else single for k in range(args.orders + 2)])
    alone, one, per_length = -ngram.mean(), mixed_nll(-ngram, cache, single).mean(), \
        mixed_nll(-ngram, cache, by_match[match]).mean()
    print("| corpus | eval targets | mean chunk (events) | 10-gram | + cache, one weight | + cache, weight by match "
          "length | change |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.corpus} | {len(ngram):,} | {np.mean([len(c) for c in eval_]):.0f} | {alone:.3f} | {one:.3f} "
          f"(w {single:.2f}) | {per_length:.3f} (w {by_match.min():.2f}-{by_match.max():.2f}) | "
          f"{100 * (per_length / alone - 1):+.1f}% |")


if __name__ == "__main__":
    main()
