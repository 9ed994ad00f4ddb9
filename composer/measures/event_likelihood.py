"""Held-out likelihood of event sequences: n-gram baselines, and a model's figures beside them.

Pure numpy over encoded events (int arrays [n_events] per chunk), so an event family can score
itself with the same baselines and bands that ``composer evaluate`` reports for a bare corpus.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from composer.measures.ngram import ngram_baselines
from composer.measures.position import by_band, change_by_band, ngram_nll_by_position, windows_by_band

NGRAM_ORDERS = (3, 5, 7, 10)


def baseline_figures(train: Sequence[np.ndarray], eval_: Sequence[np.ndarray], *, vocab_size: int) -> dict:
    """Eval nats per event of an add-one unigram and of Kneser-Ney n-grams fit on ``train``.

    Returns ``composer evaluate``'s keys: ``baseline_nll_per_event``, ``ngram_order``,
    ``ngram_nll_by_order``, ``events``, ``nll_by_position`` (the best n-gram's bands),
    ``nll_change_by_position`` (each later band against the same windows' first one) and
    ``eval_windows_by_position`` (how many eval windows reach each band).
    """
    base = ngram_baselines(train, eval_, vocab_size=vocab_size, orders=NGRAM_ORDERS)
    order = base["ngram_order"]
    by_position, change = ngram_nll_by_position(train, eval_, order=order, vocab_size=vocab_size)
    return {"baseline_nll_per_event": {"unigram": base["unigram"], "ngram": base["ngram"]},
            "ngram_order": order, "ngram_nll_by_order": base["ngram_by_order"],
            "events": {"train": int(sum(map(len, train))), "eval": int(sum(map(len, eval_)))},
            "nll_by_position": {f"Kneser-Ney {order}-gram": by_position},
            "nll_change_by_position": {f"Kneser-Ney {order}-gram": change},
            "eval_windows_by_position": windows_by_band([len(chunk) for chunk in eval_])}


def add_model_figures(result: dict, *, nll_per_event: float, nll: np.ndarray, positions: np.ndarray,
                      windows: np.ndarray) -> dict[str, Any]:
    """``baseline_figures``' result with a model's eval NLL, its gain over the best baseline, and its bands first.

    Args:
      nll_per_event: the model's eval loss (nats per event).
      nll, positions, windows: per-event NLL [n], each event's index in its eval window [n], and the window [n].
    """
    best = min(result["baseline_nll_per_event"].values())
    return {**result, "eval_nll_per_event": nll_per_event, "gain_over_best_baseline_nats": best - nll_per_event,
            "nll_by_position": {"model": by_band(nll, positions), **result["nll_by_position"]},
            "nll_change_by_position": {"model": change_by_band(nll, positions, windows),
                                       **result["nll_change_by_position"]}}
