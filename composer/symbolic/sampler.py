"""The one sampling loop of the event models (Performance RNN, Music Transformer), on any engine.

``_advance`` is one event of every row, written once: primer events are fed, not drawn; each
row stops once it has moved ``seconds`` past its primer; controls [K, C] are spread evenly over
that time; beam search keeps ``beam`` sampled hypotheses per piece, scored by their
log-likelihood; classifier-free guidance runs every hypothesis twice, with the asked controls
and with every control absent, and draws from ``uncond + guidance * (cond - uncond)`` of their
log-probabilities. Density feedback: each piece counts the notes it is behind the asked
density so far and is given the asked density scaled along a ladder (``controls.density_ladder``)
by that count: an integral controller, so a model that under- or over-plays its control still
lands near the asked notes/s. It is written against a small table of array operations, so the same code
runs in numpy around an engine called once per event (int8 LiteRT) and traced into a compiled
TensorFlow loop of CHUNK events around the model's own step ("tf"): one call per event would
cost the float32 step more than the step itself, and the loop keeps its state (the Music
Transformer's key/value cache) in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import scipy.special
import tensorflow as tf

from composer import draws
from composer.errors import ConfigError
from composer.seeding import resolve_seed
from composer.symbolic.encoding import STEPS_PER_SECOND, PerformanceEncoding
from composer.symbolic.engines import Engine, TFEngine, engine_for
from composer.symbolic.ngram_mix import MixedEngine
from composer.symbolic.ngram_tf import compiled_engine

MAX_EVENTS_PER_SECOND = 300  # hard cap on a row that never moves time forward
PROGRESS_EVERY = 256         # events between progress reports
CHUNK = 128                  # events per compiled call; the loop's state is carried between calls
PRIMER_BUCKET = 64           # primers are padded to a multiple of this (fewer shapes to compile)
FEEDBACK_SECONDS = 1.0       # a piece one second of notes behind is asked twice the density (an octave up the ladder)
LADDER_STEPS_PER_OCTAVE = 4  # controls.DENSITY_LADDER's spacing


def _draw_rows_tf(mass: tf.Tensor, uniform: tf.Tensor) -> tf.Tensor:
    """[R, D] draws: each row's mass repeated D times, one uniform each."""
    drawn = draws.inverse_cdf_tf(tf.repeat(mass, tf.shape(uniform)[1], axis=0), tf.reshape(uniform, [-1]))
    return tf.reshape(drawn, tf.shape(uniform))


def _top_k_np(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest of each row of x [R, N] and where they are, as tf.math.top_k."""
    pick = np.argsort(-x, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(x, pick, axis=1), pick


# The array operations _advance uses, in numpy and in TensorFlow (same names, same meaning).
NUMPY = SimpleNamespace(
    where=np.where, minimum=np.minimum, maximum=np.maximum, concat=np.concatenate, reshape=np.reshape,
    arange=np.arange, rows=len, take=lambda a, i: a[i], take_along=lambda a, i: np.take_along_axis(a, i, axis=1),
    log_softmax=lambda x: scipy.special.log_softmax(x, axis=1), sum_rows=lambda x: x.sum(axis=1, keepdims=True),
    log=np.log, top_k=_top_k_np, mass=draws.class_mass, draw=draws.draw_classes, draw_rows=draws.inverse_cdf,
    flag=np.bool_, to_int=lambda x: np.rint(x).astype(np.int32), to_float=lambda n: np.asarray(n, np.float32),
    take2=lambda a, i, j: a[i, j])
TENSORFLOW = SimpleNamespace(
    where=tf.where, minimum=tf.minimum, maximum=tf.maximum, concat=tf.concat, reshape=tf.reshape,
    arange=tf.range, rows=lambda a: tf.shape(a)[0], take=tf.gather,
    take_along=lambda a, i: tf.gather(a, i, batch_dims=1), log_softmax=tf.nn.log_softmax,
    sum_rows=lambda x: tf.reduce_sum(x, axis=1, keepdims=True), log=tf.math.log, top_k=tf.math.top_k,
    mass=draws.class_mass_tf, draw=draws.draw_classes_tf, draw_rows=_draw_rows_tf, flag=lambda x: x,
    to_int=lambda x: tf.cast(tf.round(x), tf.int32), to_float=lambda n: tf.cast(n, tf.float32),
    take2=lambda a, i, j: tf.gather_nd(a, tf.stack([i, j], -1)))


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What every step of one sampling run reads: numpy values, or tensors inside the compiled loop."""

    primer: Any                  # int32 [P'] (P' >= P: padded in the compiled loop)
    primer_len: Any              # P
    controls: Any                # float32 [L, K, C], or [L, K, 2, C] with guidance (asked, unguided); L ladder levels
    density: Any                 # float32 [K] asked notes/s of each segment (density feedback), or None: open loop
    total: Any                   # time steps of new material per row
    temperature: Any
    top_p: Any                   # None: no nucleus
    guidance: Any                # None: no guidance
    width: int                   # hypotheses per piece
    conditioned: bool
    shifts: tuple[int, int]      # [first, end) of the time-shift events
    note_ons: int                # events below this are note-ons


def _advance(ops: SimpleNamespace, plan: _Plan, i: Any, carry: tuple, *, step: Callable, reorder: Callable,
             uniform: Callable) -> tuple[tuple, Any, Any]:
    """One event of every row. carry: (event [R], state, time [R], done [R], score [R], notes behind the
    asked density [R]); R = pieces x width.

    Returns the new carry, the tokens [R] (-1 for a finished row) and the parent rows [R] (beam search) or None.
    """
    event, state, time, done, score, behind = carry
    rows, width, guided = ops.rows(event), plan.width, plan.guidance is not None
    controls = None
    if plan.conditioned:
        segments = ops.rows(plan.controls[0])
        segment = ops.minimum(time * segments // ops.maximum(plan.total, 1), segments - 1)
        controls = ops.take2(plan.controls, _ladder_level(ops, plan, segment, behind), segment)
        controls = ops.concat([controls[:, 0], controls[:, 1]], 0) if guided else controls
    logits, state = step(ops.concat([event, event], 0) if guided else event, controls, state)
    if guided:
        uncond = ops.log_softmax(logits[rows:])
        logits = uncond + plan.guidance * (ops.log_softmax(logits[:rows]) - uncond)
    forced = ops.flag(i + 1 < plan.primer_len)  # primer events are fed, not drawn
    parent = None
    if width > 1:  # keep the `width` best of the width x width sampled extensions of each piece
        mass = ops.mass(logits, temperature=plan.temperature, top_p=plan.top_p)
        logp = ops.log(mass / ops.sum_rows(mass))                                  # -inf outside the nucleus
        drawn = ops.draw_rows(mass, uniform((rows, width)))                        # [R, width]
        first_only = np.r_[0.0, np.full(width - 1, -np.inf)].astype(np.float32)    # a finished row extends once
        gain = ops.where(done[:, None], first_only, ops.take_along(logp, drawn))
        best, pick = ops.top_k(ops.reshape(score[:, None] + gain, [-1, width * width]), width)
        parent = ops.reshape(pick // width + ops.arange(ops.rows(pick))[:, None] * width, [-1])
        token = ops.reshape(ops.take_along(ops.reshape(drawn, [-1, width * width]), pick), [-1])
        parent = ops.where(forced, ops.arange(rows), parent)
        score = ops.where(forced, score, ops.reshape(best, [-1]))
        state = reorder(state, ops.concat([parent, parent + rows], 0) if guided else parent)
        time, done, behind = ops.take(time, parent), ops.take(done, parent), ops.take(behind, parent)
    else:
        token = ops.draw(logits, uniform((rows,)), temperature=plan.temperature, top_p=plan.top_p)
    token = ops.where(forced, plan.primer[ops.minimum(i + 1, plan.primer_len - 1)], token)
    token = ops.where(done, -1, token)
    is_shift = (token >= plan.shifts[0]) & (token < plan.shifts[1])
    moved = ops.where(is_shift & ~forced, token - plan.shifts[0] + 1, 0)
    time = time + moved
    if plan.density is not None:
        asked = ops.take(plan.density, segment) / STEPS_PER_SECOND  # notes per time step
        behind = behind + asked * ops.to_float(moved) - ops.to_float((token >= 0) & (token < plan.note_ons) & ~forced)
    done = done | (time >= plan.total) & ~forced
    return (ops.maximum(token, 0), state, time, done, score, behind), token, parent


def _ladder_level(ops: SimpleNamespace, plan: _Plan, segment: Any, behind: Any) -> Any:
    """The control ladder level of each row [R]: the middle one (the asked density) in open loop; with
    feedback, an octave up the ladder per FEEDBACK_SECONDS of asked notes the row is behind (down
    when ahead), so the level integrates the row's error."""
    middle = (ops.rows(plan.controls) - 1) // 2
    if plan.density is None:
        return middle + ops.to_int(0 * behind)  # one level per row
    seconds_behind = behind / ops.take(plan.density, segment)
    steps = ops.to_int(seconds_behind / FEEDBACK_SECONDS * LADDER_STEPS_PER_OCTAVE)
    return ops.minimum(ops.maximum(middle + steps, 0), 2 * middle)


def sample_events(model: Any, encoding: PerformanceEncoding, *, num: int = 1, seconds: float = 30.0,
                  temperature: float = 1.0, seed: int | None = None, primer: np.ndarray | None = None,
                  controls: np.ndarray | None = None, top_p: float | None = None, beam: int | None = None,
                  guidance: float | None = None, unconditional: np.ndarray | None = None,
                  density: np.ndarray | None = None, engine: str | Engine = "tf",
                  openings: np.ndarray | None = None, ngram: Any = None,
                  progress: Callable[[float], None] | None = None) -> list[np.ndarray]:
    """Sample ``num`` event arrays (int32, primer first) running ``seconds`` past the primer.

    Args:
      primer: int32 [P] events to continue (default: one 10 ms time shift).
      openings: int32 [num], each piece's own first event in place of ``primer[0]`` (e.g. its
        opening velocity), so pieces of one batch can start differently.
      controls: float32 [K, C] control rows spread evenly over the new material (conditioned models),
        or a density ladder [L, K, C] (``controls.density_ladder``) for density feedback.
      density: with a ladder, the asked notes/s of each of the K segments: feedback keeps each
        piece near them (None: open loop, the ladder's middle level).
      top_p: nucleus sampling mass (None: off); beam: hypotheses kept per piece (None: plain sampling).
      guidance: classifier-free guidance scale (None or 1: off); needs ``unconditional``, the
        control rows (shaped as ``controls``, or one row [C]) the guided rows are pushed away from.
      engine: "tf" (float32), "tflite" (int8 weights, Performance RNN only) or an engine object.
      ngram: an n-gram mixture (``ngram_mix.Mixture``) whose distribution is mixed into the model's.
      progress: called now and then with the seconds of new material every piece has reached.
    """
    engine = engine_for(model, engine)
    if ngram is not None:  # the n-gram steps in TensorFlow inside the compiled loop, in numpy beside LiteRT
        engine = compiled_engine(model, ngram) if isinstance(engine, TFEngine) else MixedEngine(engine, ngram)
    guided = guidance is not None and guidance != 1
    if guided and unconditional is None:
        raise ConfigError("guidance needs the unguided control rows to push away from")
    primer = np.asarray(primer if primer is not None and len(primer) else [encoding.shift_offset], np.int32)
    width = beam or 1
    rows = num * width
    controls = np.zeros((1, engine.control_dim), np.float32) if controls is None else np.asarray(controls)
    if guided:
        controls = np.stack([controls, np.broadcast_to(unconditional, controls.shape)], axis=-2)  # [..., K, 2, C]
    if controls.ndim == (3 if guided else 2):
        controls = controls[None]  # a ladder of one level
    if density is not None and len(controls) == 1:
        raise ConfigError("density feedback needs a density ladder of control rows (controls.density_ladder)")
    plan = _Plan(primer=primer, primer_len=len(primer), controls=controls.astype(np.float32),
                 density=None if density is None else np.asarray(density, np.float32),
                 total=int(round(seconds * STEPS_PER_SECOND)), temperature=float(temperature),
                 top_p=top_p if top_p is not None and top_p < 1 else None, guidance=guidance if guided else None,
                 width=width, conditioned=engine.control_dim > 0,
                 shifts=(encoding.shift_offset, encoding.velocity_offset), note_ons=encoding.shift_offset // 2)
    alive = np.tile(np.r_[0.0, np.full(width - 1, -np.inf)], num).astype(np.float32)  # one live hypothesis
    openings = np.full(num, primer[0], np.int32) if openings is None else np.asarray(openings, np.int32)
    if openings.shape != (num,):
        raise ConfigError(f"openings must hold one event per piece ({num}), got shape {openings.shape}")
    carry = (np.repeat(openings, width), engine.initial_state(2 * rows if guided else rows),
             np.zeros(rows, np.int32), np.zeros(rows, bool), alive, np.zeros(rows, np.float32))
    run = _run_compiled if isinstance(engine, TFEngine) else _run_stepwise
    tokens, parents, score = run(engine, plan, carry, seed=resolve_seed(seed),
                                 limit=len(primer) + seconds * MAX_EVENTS_PER_SECOND, progress=progress)
    if width == 1:
        return [np.concatenate([[opening], row[row >= 0]]).astype(np.int32) for opening, row in zip(openings, tokens.T)]
    return [np.concatenate([[openings[piece]], _backtrack(tokens, parents, score, first=piece * width, width=width)])
            for piece in range(num)]


def _run_stepwise(engine: Engine, plan: _Plan, carry: tuple, *, seed: int, limit: float,
                  progress: Callable[[float], None] | None) -> tuple:
    """The loop in numpy, one engine call per event: tokens and parents [T, R], final scores [R]."""
    rng = np.random.default_rng(seed)
    tokens, parents = [], []
    i = 0
    with np.errstate(divide="ignore"):  # log 0 = -inf outside the nucleus
        while i + 1 < plan.primer_len or not carry[3].all() and i < limit:
            carry, token, parent = _advance(NUMPY, plan, i, carry, step=engine.step, reorder=engine.reorder,
                                            uniform=rng.random)
            tokens.append(token)
            parents.append(parent)
            i += 1
            if progress and i % PROGRESS_EVERY == 0:
                progress(float(carry[2].min()) / STEPS_PER_SECOND)
    return np.stack(tokens), (np.stack(parents) if plan.width > 1 else None), carry[4]


def _run_compiled(engine: TFEngine, plan: _Plan, carry: tuple, *, seed: int, limit: float,
                  progress: Callable[[float], None] | None) -> tuple:
    """The loop compiled, CHUNK events per call: tokens and parents [T, R], final scores [R]."""
    loop = _chunk_loop(engine, plan)
    args = (tf.constant(np.pad(plan.primer, (0, -plan.primer_len % PRIMER_BUCKET))), tf.constant(plan.primer_len),
            tf.constant(plan.controls), tf.constant(plan.density if plan.density is not None else [0.0]),
            tf.constant(plan.total), tf.constant(plan.temperature),
            tf.constant(plan.top_p or 1.0, tf.float32), tf.constant(plan.guidance or 1.0, tf.float32),
            tf.constant([seed, 0], tf.int64))
    carry = [tf.constant(0), *tf.nest.map_structure(tf.convert_to_tensor, carry)]  # a list, as the loop returns
    tokens, parents = [], []
    while int(carry[0]) + 1 < plan.primer_len or not bool(tf.reduce_all(carry[4])) and int(carry[0]) < limit:
        carry, *chunk = loop(carry, *args)
        tokens.append(chunk[0].numpy())
        parents.append(chunk[-1].numpy())
        if progress:
            progress(float(tf.reduce_min(carry[3])) / STEPS_PER_SECOND)
    return np.concatenate(tokens), (np.concatenate(parents) if plan.width > 1 else None), carry[5].numpy()


def _chunk_loop(engine: TFEngine, plan: _Plan) -> Any:
    """The XLA loop of CHUNK events of ``_advance`` around the model's step (cached per engine and options).

    XLA fuses each step's small ops and keeps the state in place between events. The options
    (beam width, guidance, nucleus) are traced in, so plain sampling carries no beam bookkeeping
    and no sort over the vocabulary.
    """
    key = (plan.width, plan.guidance is not None, plan.top_p is not None, plan.density is not None, plan.conditioned,
           plan.shifts)
    if key in engine.loops:
        return engine.loops[key]
    model, width, guided, nucleus = engine.model, plan.width, plan.guidance is not None, plan.top_p is not None
    feedback = plan.density is not None

    def reorder(state: Any, rows: tf.Tensor) -> Any:
        return tf.nest.map_structure(lambda tensor: tf.gather(tensor, rows), state)

    @tf.function(jit_compile=True)
    def run(carry, primer, primer_len, controls, density, total, temperature, top_p, guidance, seed):
        """carry: (i, event, state, time, done, score, recent); returns it after CHUNK more events,
        with the tokens (and beam parents) of those events, [CHUNK, R]."""
        traced = dataclasses.replace(plan, primer=primer, primer_len=primer_len, controls=controls,
                                     density=density if feedback else None, total=total, temperature=temperature,
                                     top_p=top_p if nucleus else None, guidance=guidance if guided else None)

        def body(k, i, *rest):
            before, arrays = tuple(rest[:6]), rest[6:]

            def uniform(shape):
                return tf.random.stateless_uniform(shape, seed + tf.cast([0, i], tf.int64))

            after, token, parent = _advance(TENSORFLOW, traced, i, before, step=model.step, reorder=reorder,
                                            uniform=uniform)
            after = tf.nest.map_structure(lambda new, old: tf.ensure_shape(new, old.shape), after, before)
            written = [arrays[0].write(k, token)] + ([arrays[1].write(k, parent)] if width > 1 else [])
            return (k + 1, i + 1, *after, *written)

        arrays = [tf.TensorArray(tf.int32, size=CHUNK) for _ in range(2 if width > 1 else 1)]
        _, *out = tf.while_loop(lambda k, *_: k < CHUNK, body, [0, *carry, *arrays])
        return (out[:7], *[array.stack() for array in out[7:]])

    engine.loops[key] = run
    return run


def _backtrack(tokens: np.ndarray, parents: np.ndarray, score: np.ndarray, *, first: int, width: int) -> np.ndarray:
    """The best hypothesis of one piece, followed back through the parent rows: int32 [n], after its first event."""
    row = first + int(np.argmax(score[first:first + width]))
    path = np.empty(len(tokens), np.int32)
    for t in range(len(tokens) - 1, -1, -1):
        path[t] = tokens[t, row]
        row = parents[t, row]
    return path[path >= 0]
