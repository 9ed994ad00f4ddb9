"""The one sampling loop of the event models (Performance RNN, Music Transformer), on any engine.

The loop is numpy and asks an engine (``engines.py``: int8 LiteRT or float32 TensorFlow) for
one step per event. Primer events are fed, not drawn; each row stops once it has moved
``seconds`` past its primer (or after MAX_EVENTS_PER_SECOND events per second, for a row that
never moves time forward); controls [K, C] are spread evenly over that time. Beam search keeps
``beam`` sampled hypotheses per piece, scored by their log-likelihood, and returns the best.
Classifier-free guidance runs every hypothesis twice, with the asked controls and with every
control absent, and draws from ``uncond + guidance * (cond - uncond)`` of their log-probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special

from composer.draws import class_mass, draw_classes, inverse_cdf
from composer.errors import ConfigError
from composer.seeding import resolve_seed
from composer.symbolic.encoding import STEPS_PER_SECOND, PerformanceEncoding
from composer.symbolic.engines import Engine, engine_for

MAX_EVENTS_PER_SECOND = 300  # hard cap on a row that never moves time forward
PROGRESS_EVERY = 256         # steps between progress reports


def sample_events(model: Any, encoding: PerformanceEncoding, *, num: int = 1, seconds: float = 30.0,
                  temperature: float = 1.0, seed: int | None = None, primer: np.ndarray | None = None,
                  controls: np.ndarray | None = None, top_p: float | None = None, beam: int | None = None,
                  guidance: float | None = None, unconditional: np.ndarray | None = None,
                  engine: str | Engine = "tf",
                  progress: Callable[[float], None] | None = None) -> list[np.ndarray]:
    """Sample ``num`` event arrays (int32, primer first) running ``seconds`` past the primer.

    Args:
      primer: int32 [P] events to continue (default: one 10 ms time shift).
      controls: float32 [K, C] control rows spread evenly over the new material (conditioned models).
      top_p: nucleus sampling mass (None: off); beam: hypotheses kept per piece (None: plain sampling).
      guidance: classifier-free guidance scale (None or 1: off); needs ``unconditional``, the
        control row [C] with every control absent.
      engine: "tf" (float32), "tflite" (int8 weights, Performance RNN only) or an engine object.
      progress: called now and then with the seconds of new material every piece has reached.
    """
    step = engine_for(model, engine)
    guided = guidance is not None and guidance != 1
    if guided and unconditional is None:
        raise ConfigError("guidance needs the control row with every control absent")
    primer = np.asarray(primer if primer is not None and len(primer) else [encoding.shift_offset], np.int32)
    rng = np.random.default_rng(resolve_seed(seed))
    width = beam or 1
    rows = num * width
    controls = np.zeros((1, step.control_dim), np.float32) if controls is None else controls
    if guided:
        controls = np.stack([controls, np.broadcast_to(unconditional, controls.shape)], axis=1)  # [K, 2, C]
    total = int(round(seconds * STEPS_PER_SECOND))
    limit = len(primer) + seconds * MAX_EVENTS_PER_SECOND
    state = step.initial_state(2 * rows if guided else rows)
    event, time, done = np.full(rows, primer[0], np.int32), np.zeros(rows, np.int64), np.zeros(rows, bool)
    score = np.tile(np.r_[0.0, np.full(width - 1, -np.inf)], num)  # one live hypothesis per piece
    tokens, parents = [], []
    i = 0
    while i + 1 < len(primer) or not done.all() and i < limit:
        row_controls = None
        if step.control_dim:
            row_controls = controls[np.minimum(time * len(controls) // max(total, 1), len(controls) - 1)]
            row_controls = row_controls.transpose(1, 0, 2).reshape(2 * rows, -1) if guided else row_controls
        logits, state = step.step(np.tile(event, 2) if guided else event, row_controls, state)
        if guided:
            logits = _guided(logits[:rows], logits[rows:], guidance)
        parent = None
        if i + 1 < len(primer):
            token = np.full(rows, primer[i + 1], np.int32)
        else:
            if width > 1:
                token, parent, score = _beam_step(logits, score, done, rng, width=width, temperature=temperature,
                                                  top_p=top_p)
                state = step.reorder(state, np.r_[parent, parent + rows] if guided else parent)
                time, done = time[parent], done[parent]
            else:
                token = draw_classes(logits, rng.random(rows), temperature=temperature, top_p=top_p)
            shift = (token >= encoding.shift_offset) & (token < encoding.velocity_offset)
            time = time + np.where(shift & ~done, token - encoding.shift_offset + 1, 0)
            token = np.where(done, -1, token)
            done = done | (time >= total)
        tokens.append(token)
        parents.append(parent)
        event = np.maximum(token, 0).astype(np.int32)
        i += 1
        if progress and i % PROGRESS_EVERY == 0:
            progress(float(time.min()) / STEPS_PER_SECOND)
    if width == 1:
        return [np.concatenate([primer[:1], row[row >= 0]]).astype(np.int32) for row in np.stack(tokens, axis=1)]
    return [_backtrack(primer, tokens, parents, score, first=piece * width, width=width) for piece in range(num)]


def _guided(cond: np.ndarray, uncond: np.ndarray, guidance: float) -> np.ndarray:
    """Classifier-free guidance of logits [R, V]: the unconditional log-probabilities moved
    ``guidance`` times the way the controls move them."""
    uncond = scipy.special.log_softmax(uncond, axis=1)
    return uncond + np.float32(guidance) * (scipy.special.log_softmax(cond, axis=1) - uncond)


def _beam_step(logits: np.ndarray, score: np.ndarray, done: np.ndarray, rng: np.random.Generator, *, width: int,
               temperature: float, top_p: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the ``width`` best of the width x width sampled extensions of each piece.

    logits [R, V], scores and done [R] of R = pieces x width rows -> (token, parent row, score), each [R].
    A finished row extends only once, by nothing, so it keeps its score and one place.
    """
    rows = len(logits)
    mass = class_mass(logits, temperature=temperature, top_p=top_p)
    with np.errstate(divide="ignore"):  # log 0 = -inf outside the nucleus
        logp = np.log(mass / mass.sum(axis=1, keepdims=True))
    drawn = inverse_cdf(mass, rng.random((rows, width)))                          # [R, width]
    gain = np.take_along_axis(logp, drawn, axis=1)
    gain = np.where(done[:, None], np.r_[0.0, np.full(width - 1, -np.inf)], gain)
    candidates = (score[:, None] + gain).reshape(-1, width * width)                # [pieces, width^2]
    pick = np.argsort(-candidates, axis=1, kind="stable")[:, :width]
    parent = (pick // width + np.arange(len(pick))[:, None] * width).ravel()
    token = np.take_along_axis(drawn.reshape(-1, width * width), pick, axis=1).ravel()
    return token.astype(np.int32), parent, np.take_along_axis(candidates, pick, axis=1).ravel()


def _backtrack(primer: np.ndarray, tokens: list[np.ndarray], parents: list[np.ndarray | None], score: np.ndarray,
               *, first: int, width: int) -> np.ndarray:
    """The best hypothesis of one piece, followed back through the parent rows: int32 [n]."""
    row = first + int(np.argmax(score[first:first + width]))
    path = np.empty(len(tokens), np.int32)
    for t in range(len(tokens) - 1, -1, -1):
        path[t] = tokens[t][row]
        if parents[t] is not None:
            row = parents[t][row]
    return np.concatenate([primer[:1], path[path >= 0]]).astype(np.int32)
