"""Comparing two distributions of a feature: overlap area and KL divergence on shared bins.

Yang & Lerch (2019) compare feature distributions with kernel density estimates; we use
histograms on fixed, documented bins instead, so that a set compared with itself gives an
overlap of exactly 1 and a KL divergence of exactly 0, and that sets of a few pieces (a KDE of
four points is mostly kernel) are compared on the same footing as a whole corpus.
"""

from __future__ import annotations

import numpy as np

# Additive smoothing of histogram probabilities before KL, so an empty bin costs a finite amount.
KL_EPSILON = 1e-4


def histogram(values: np.ndarray, *, bins: np.ndarray) -> np.ndarray:
    """Probabilities of ``values`` in ``bins`` (edges, [n_bins + 1]); outliers go to the end bins.

    Returns float64 [n_bins], summing to 1 (all zeros when there are no values).
    """
    values = np.clip(np.asarray(values, dtype=np.float64).reshape(-1), bins[0], bins[-1])
    counts, _ = np.histogram(values, bins=bins)
    return normalize(counts)


def normalize(weights: np.ndarray) -> np.ndarray:
    """Non-negative weights [n] scaled to sum 1 (all zeros stay zeros)."""
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum()
    return weights / total if total > 0 else np.zeros_like(weights)


def overlap(p: np.ndarray, q: np.ndarray) -> float:
    """Overlap area of two discrete distributions, sum(min(p, q)): 1 identical, 0 disjoint."""
    return float(np.minimum(p, q).sum())


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats after adding ``KL_EPSILON`` to every bin of both (0 when p == q)."""
    p = normalize(np.asarray(p, dtype=np.float64) + KL_EPSILON)
    q = normalize(np.asarray(q, dtype=np.float64) + KL_EPSILON)
    return float(np.sum(p * np.log(p / q)))


def compare(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """{"overlap", "kl"} of a candidate distribution against a reference one (KL(ref || cand))."""
    return {"overlap": overlap(reference, candidate), "kl": kl_divergence(reference, candidate)}
