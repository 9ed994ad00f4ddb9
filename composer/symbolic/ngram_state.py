"""A fitted Kneser-Ney n-gram (``composer.measures.ngram.KneserNey``) stepped event by event, many rows at once.

Sampling with the n-gram mixed in needs, at every event of every row, the n-gram's whole
next-event distribution. ``KneserNey.probabilities`` scores every candidate from scratch; here
each row keeps its context as one node per order (the (k-1)-gram ending at its last event, k =
1..n), so one event costs one sorted lookup per order, and the distribution is the
interpolation unrolled: each order's discounted counts of the context's children, weighted by
1 / total of that context times the back-off factors (gamma / total) of every higher order,
plus the uniform floor. The children of the empty context are one dense vector; those of longer
contexts are few and added in one by one.

Nodes are the n-gram's k-grams (k = 0..n), numbered in the order of (parent node, last event),
so the child of a node by an event is found by one ``searchsorted`` over the links of all orders.
"""

from __future__ import annotations

import numba
import numpy as np

from composer.measures.ngram import KneserNey


class NgramState:
    """The n-gram's distribution and context transitions as flat arrays over its k-gram nodes.

    A row's state is int64 [order] node ids: its context of each length 0..order-1 (``missing``
    where that context never occurred in training); ``initial(rows)`` is the context of a piece's start.
    """

    def __init__(self, model: KneserNey) -> None:
        tables, vocab = model.tables, model.vocab_size
        self.order, self.vocab_size = model.order, vocab
        base = vocab + 1                                            # events and the begin token
        # Nodes numbered breadth first: 0 the empty context, then each order's k-grams sorted by
        # (parent node, last event), so the links (parent * base + last) of all orders are one sorted array.
        links, values, totals, gammas = [], [], [tables[0].ctx_total], [tables[0].ctx_gamma]
        node, prefix, last, first_id = np.zeros(1, np.int64), None, None, 1
        first_node = [0, 1]                                         # each order's first node number
        for k in range(1, self.order + 1):
            table = tables[k]
            suffix, first = table.keys // base, table.keys % base
            if k == 1:
                prefix, last = np.zeros(len(first), np.int64), first
            else:  # the prefix of (w1..wk) is (w1..wk-1): its key from the prefix of the suffix (w2..wk)
                prefix, last = np.searchsorted(tables[k - 1].keys, prefix[suffix] * base + first), last[suffix]
            link = node[prefix] * base + last                       # node: order k-1 ids -> node numbers
            order = np.argsort(link, kind="stable")
            node = np.empty(len(link), np.int64)
            node[order] = first_id + np.arange(len(link))
            first_id += len(link)
            first_node.append(first_id)
            counts = table.counts[order]
            links.append(link[order])
            values.append(np.maximum(counts - table.discounts[np.minimum(counts, 3).astype(np.int64)], 0))
            totals.append(table.ctx_total[order])
            gammas.append(table.ctx_gamma[order])
        self.links, value = np.concatenate(links), np.concatenate(values)
        self.missing = first_id                                     # a context never seen in training
        self.first_node = np.array(first_node)                      # order k's nodes: first_node[k]..first_node[k + 1]
        total, gamma = np.append(np.concatenate(totals), 0.0), np.append(np.concatenate(gammas), 0.0)
        seen = total > 0
        self.inverse_total = np.where(seen, 1.0 / np.where(seen, total, 1.0), 0.0)   # 0: a context with no children
        self.backoff = np.where(seen, gamma * self.inverse_total, 1.0)               # 1: passed through unchanged
        parent, last = self.links // base, self.links % base
        # The links of node m's children: links[first_link[m]:first_link[m + 1]].
        self.first_link = np.searchsorted(parent, np.arange(self.missing + 2))
        # Children of every node but the root, scattered: those of node m are entries start[m]..start[m + 1].
        keep = (last < vocab) & (value > 0) & (parent > 0)
        self.child_event, self.child_value = last[keep], value[keep]
        self.start = np.searchsorted(parent[keep], np.arange(self.missing + 2))
        roots = (parent == 0) & (last < vocab)
        self.root_children = np.zeros(vocab)
        self.root_children[last[roots]] = value[roots]
        self._begin = self.advance(self._empty(1), np.full(1, vocab, np.int64), steps=self.order - 1)[0]

    def _empty(self, rows: int) -> np.ndarray:
        state = np.full((rows, self.order), self.missing, np.int64)
        state[:, 0] = 0
        return state

    def initial(self, rows: int) -> np.ndarray:
        """The state of ``rows`` pieces at their start (the context of order - 1 begin tokens). int64 [rows, order]."""
        return np.tile(self._begin, (rows, 1))

    def advance(self, state: np.ndarray, events: np.ndarray, *, steps: int = 1) -> np.ndarray:
        """The state [R, order] after each row reads its event of ``events`` [R] (``steps`` times)."""
        events = np.asarray(events, np.int64)
        for _ in range(steps):
            state = _advance(self.links, self.first_link, self.vocab_size + 1, self.missing,
                             np.ascontiguousarray(state), events)
        return state

    def context_length(self, state: np.ndarray) -> np.ndarray:
        """The length of each row's longest context that was followed by something in training: int64 [R],
        0..order-1 (``KneserNey.log_probs_and_context``'s figure for the row's next event)."""
        return (self.inverse_total[state[:, 1:]] > 0).sum(axis=1)

    def probabilities(self, state: np.ndarray) -> np.ndarray:
        """The next-event distribution of each row: float64 [R, V], rows summing to 1."""
        return _probabilities(np.ascontiguousarray(state), self.backoff, self.inverse_total, self.start,
                              self.child_event, self.child_value, self.root_children)


# One compiled loop per call, for all rows: sampling calls these once per event, where a dozen numpy calls
# would cost more than the work.
@numba.njit(nogil=True, cache=True)
def _advance(links: np.ndarray, first_link: np.ndarray, base: int, missing: int, state: np.ndarray,
             events: np.ndarray) -> np.ndarray:
    rows, order = state.shape
    child = np.empty_like(state)
    for r in range(rows):
        child[r, 0] = 0
        for k in range(order - 1):
            parent, query = state[r, k], state[r, k] * base + events[r]
            low, high = first_link[parent], first_link[parent + 1]   # a search among the parent's children only
            found = low + np.searchsorted(links[low:high], query)
            child[r, k + 1] = found + 1 if found < high and links[found] == query else missing
    return child


@numba.njit(nogil=True, cache=True)
def _probabilities(state: np.ndarray, backoff: np.ndarray, inverse_total: np.ndarray, start: np.ndarray,
                   child_event: np.ndarray, child_value: np.ndarray, root_children: np.ndarray) -> np.ndarray:
    rows, order = state.shape
    vocab = len(root_children)
    probs = np.zeros((rows, vocab))
    for r in range(rows):
        above = 1.0                      # the back-off factors of every longer context than the one at hand
        for k in range(order - 1, 0, -1):
            node = state[r, k]
            weight = inverse_total[node] * above
            for i in range(start[node], start[node + 1]):
                probs[r, child_event[i]] += weight * child_value[i]
            above *= backoff[node]
        root = state[r, 0]
        weight, floor = inverse_total[root] * above, above * backoff[root] / vocab
        for v in range(vocab):
            probs[r, v] += floor + weight * root_children[v]
    return probs
