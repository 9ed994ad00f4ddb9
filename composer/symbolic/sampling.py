"""Sampling new performances from a trained event model, the whole loop compiled.

The loop drives any model with the step interface ``initial_state(batch)`` and
``step(events [B], controls [B, C] or None, state) -> (logits [B, V], state)``, the state any
nest of tensors with the batch first (Performance RNN: LSTM (h, c) per layer; Music Transformer:
key/value caches and positions). One ``tf.function`` runs the event loop: states stay tensors,
the next event is drawn on device (temperature, optional nucleus/top-p), primer events are forced instead of drawn, and
each row stops once it has moved ``seconds`` past its primer. Beam search keeps ``beam``
sampled hypotheses per piece, scored by their log-likelihood, and returns the best.
``composer generate`` samples through ``lite.py`` instead unless asked for beam search: the
same loop around the model exported with int8 weights, which reads a quarter of the bytes per step.
"""

from __future__ import annotations

import functools
import secrets
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from composer.errors import ConfigError, RunDirError
from composer.progress import seconds_bar
from composer.symbolic.controls import event_steps, user_controls
from composer.symbolic.encoding import STEPS_PER_SECOND, PerformanceEncoding
from composer.symbolic.keys import key_histogram
from composer.symbolic.lite import lite_step, sample_events_lite
from composer.symbolic.midi import (
    PRIMER_MARKER,
    Meter,
    check_grid,
    estimate_qpm,
    meter_of,
    quantized,
    write_midi,
    write_musicxml,
)
from composer.train.run import checkpoint_path, load_run, model_name

MAX_EVENTS_PER_SECOND = 300  # hard cap on a row that never moves time forward
CHUNK = 128                  # steps per compiled call; the loop state is carried between calls
XLA_MAX_ROWS = 4             # batches up to this size sample in an XLA loop, larger ones in a graph loop
PRIMER_BUCKET = 64           # primers are padded to a multiple of this (fewer shapes to compile)
ENGINES = ("tf", "tflite")
MIDI_SUFFIXES = (".mid", ".midi")
_LOOPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _nucleus(logits: tf.Tensor, top_p: tf.Tensor) -> tf.Tensor:
    """Mask logits [B, V] outside the smallest set of classes whose probability reaches top_p."""
    ordered = tf.sort(logits, direction="DESCENDING")
    before = tf.cumsum(tf.nn.softmax(ordered), axis=-1, exclusive=True)
    cutoff = tf.reduce_min(tf.where(before < top_p, ordered, ordered[:, :1]), axis=-1, keepdims=True)
    return tf.where(logits < cutoff, -np.inf, logits)


def _inverse_cdf(logp: tf.Tensor, uniform: tf.Tensor) -> tf.Tensor:
    """Classes [R, D] drawn from log-probabilities [R, V] by uniforms [R, D] in (0, 1).

    One uniform per draw: Gumbel noise over the whole vocabulary cost a third of each batch-1
    step on CPU. Since u > 0, a class of probability 0 (outside the nucleus) is never drawn.
    """
    cdf = tf.cumsum(tf.exp(logp), axis=-1)
    u = uniform * cdf[:, -1:]
    return tf.reduce_sum(tf.cast(cdf[:, None, :] < u[:, :, None], tf.int32), axis=-1)


def _chunk_loop(model: Any, encoding: PerformanceEncoding, *, xla: bool, nucleus: bool, beam: bool) -> Any:
    """The compiled loop running CHUNK sampling steps of ``model`` (cached per model and options).

    XLA fuses the whole step and wins at small batches, where each step is a chain of
    matrix-vector products; at larger batches TensorFlow's own matmul kernels beat XLA's CPU dot
    (measured: 3 x 512 stack at batch 16, 220 vs 129 steps/s), so those run as a plain graph loop.
    Plain sampling is traced without the nucleus sort and the beam bookkeeping (a sort over the
    vocabulary and a gather of every LSTM state per step), which it does not need.
    """
    key = (xla, nucleus, beam)
    if key in _LOOPS.get(model, {}):
        return _LOOPS[model][key]
    shift_lo, shift_hi = encoding.shift_offset, encoding.velocity_offset
    conditioned = model.control_dim > 0

    @tf.function(jit_compile=xla)
    def run(carry, primer, primer_len, controls, total_steps, temperature, top_p, width, seed):
        """carry: (i, event [R], states, time [R], done [R], score [R]); R = pieces x width.

        Returns the new carry and the tokens and beam parents of the CHUNK steps, [CHUNK, R].
        """
        rows, segments = tf.shape(primer)[0], tf.shape(controls)[1]
        pieces = rows // width
        first_only = tf.concat([tf.zeros([rows, 1]), tf.fill([rows, width - 1], -np.inf)], 1)

        def body(k, i, event, states, time, done, score, tokens, parents):
            before = (event, states, time, done, score)
            segment = tf.minimum(time * segments // tf.maximum(total_steps, 1), segments - 1)
            control = tf.gather(controls, segment, batch_dims=1) if conditioned else None
            logits, states = model.step(event, control, states)
            logits = logits / tf.maximum(temperature, 1e-4)
            logp = tf.nn.log_softmax(_nucleus(logits, top_p) if nucleus else logits)
            uniform = tf.random.stateless_uniform([rows, width if beam else 1], seed + tf.cast([0, i], tf.int64),
                                                  minval=1e-12, maxval=1.0)
            draw = _inverse_cdf(logp, uniform)                            # [R, width]
            forced = i + 1 < primer_len                                   # primer events are fed, not drawn
            if beam:  # keep the `width` best of the width x width extensions of each piece
                gain = tf.where(done[:, None], first_only, tf.gather(logp, draw, batch_dims=1))
                best, pick = tf.math.top_k(tf.reshape(score[:, None] + gain, [pieces, width * width]), width)
                parent = tf.reshape(pick // width + tf.range(pieces)[:, None] * width, [-1])
                token = tf.reshape(tf.gather(tf.reshape(draw, [pieces, width * width]), pick, batch_dims=1), [-1])
                parent = tf.where(forced, tf.range(rows), parent)
                score = tf.where(forced, score, tf.reshape(best, [-1]))
                states = tf.nest.map_structure(lambda state: tf.gather(state, parent), states)
                time, done = tf.gather(time, parent), tf.gather(done, parent)
            else:
                parent, token = tf.range(rows), draw[:, 0]
            token = tf.where(forced, primer[:, tf.minimum(i + 1, tf.shape(primer)[1] - 1)], token)
            token = tf.where(done, -1, token)
            is_shift = (token >= shift_lo) & (token < shift_hi)
            time += tf.where(is_shift & ~forced, token - shift_lo + 1, 0)
            done = done | (time >= total_steps) & ~forced
            after = tf.nest.map_structure(lambda new, old: tf.ensure_shape(new, old.shape), (
                tf.maximum(token, 0), states, time, done, score), before)  # static shapes for the loop
            return (k + 1, i + 1, *after, tokens.write(k, token), parents.write(k, parent))

        arrays = [tf.TensorArray(tf.int32, size=CHUNK) for _ in range(2)]
        _, *carry, tokens, parents = tf.while_loop(lambda k, *_: k < CHUNK, body, [0, *carry, *arrays])
        return carry, tokens.stack(), parents.stack()

    _LOOPS.setdefault(model, {})[key] = run
    return run


def sample_events(model: Any, encoding: PerformanceEncoding, *, num: int = 1, seconds: float = 30.0,
                  temperature: float = 1.0, seed: int | None = None, primer: np.ndarray | None = None,
                  controls: np.ndarray | None = None, top_p: float | None = None,
                  beam: int | None = None, engine: str = "tf",
                  progress: Callable[[float], None] | None = None) -> list[np.ndarray]:
    """Sample ``num`` event arrays (int32, primer first) running ``seconds`` past the primer.

    Args:
      primer: int32 [P] events to continue (default: one 10 ms time shift).
      controls: float32 [K, C] control rows spread evenly over the new material (conditioned models).
      top_p: nucleus sampling mass (None: off); beam: hypotheses kept per piece (None: plain sampling).
      engine: "tf" (this module's float32 loop) or "tflite" (int8 weights, ``lite.py``: faster on
        CPU, no beam search).
      progress: called now and then with the seconds of new material every piece has reached.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown sampling engine '{engine}' (choose from {', '.join(ENGINES)})")
    primer = np.asarray(primer if primer is not None and len(primer) else [encoding.shift_offset], np.int32)
    seed = secrets.randbits(31) if seed is None else seed
    if engine == "tflite":
        if beam and beam > 1:
            raise ConfigError("beam search runs on the tf engine: drop --engine tflite or --beam")
        return sample_events_lite(lite_step(model), encoding, num=num, seconds=seconds, temperature=temperature,
                                  seed=seed, primer=primer, controls=controls, top_p=top_p,
                                  max_events=len(primer) + seconds * MAX_EVENTS_PER_SECOND, progress=progress)
    width, rows = beam or 1, num * (beam or 1)
    controls = np.zeros((1, model.control_dim), np.float32) if controls is None else controls
    padded = np.tile(np.pad(primer, (0, -len(primer) % PRIMER_BUCKET)), (rows, 1))
    args = (tf.constant(padded), tf.constant(len(primer)), tf.constant(np.tile(controls[None], (rows, 1, 1))),
            tf.constant(int(round(seconds * STEPS_PER_SECOND))), tf.constant(float(temperature)),
            tf.constant(float(top_p or 1.0)), tf.constant(width), tf.constant([seed, 0], tf.int64))
    alive = np.tile(np.r_[0.0, np.full(width - 1, -np.inf)], num).astype(np.float32)  # one live hypothesis
    carry = [tf.constant(0), args[0][:, 0], model.initial_state(rows), tf.zeros([rows], tf.int32),
             tf.zeros([rows], tf.bool), tf.constant(alive)]  # a list, as the loop returns it (no retrace)
    loop = _chunk_loop(model, encoding, xla=rows <= XLA_MAX_ROWS, nucleus=top_p is not None and top_p < 1,
                       beam=width > 1)
    tokens, parents = [], []
    limit = len(primer) + seconds * MAX_EVENTS_PER_SECOND
    while int(carry[0]) < len(primer) or not bool(tf.reduce_all(carry[4])) and int(carry[0]) < limit:
        carry, chunk_tokens, chunk_parents = loop(carry, *args)
        tokens.append(chunk_tokens.numpy())
        parents.append(chunk_parents.numpy())
        if progress:
            progress(float(tf.reduce_min(carry[3])) / STEPS_PER_SECOND)
    tokens, parents, score = np.concatenate(tokens), np.concatenate(parents), carry[5].numpy()
    return [_backtrack(primer, tokens, parents, score, piece * width, width) for piece in range(num)]


def _backtrack(primer: np.ndarray, tokens: np.ndarray, parents: np.ndarray, score: np.ndarray, first: int,
               width: int) -> np.ndarray:
    """Follow the best hypothesis of one piece back through the parent pointers: int32 [n]."""
    row = first + int(np.argmax(score[first:first + width]))
    path = np.empty(len(tokens), np.int32)
    for t in range(len(tokens) - 1, -1, -1):
        path[t] = tokens[t, row]
        row = parents[t, row]
    return np.concatenate([primer[:1], path[path >= 0]]).astype(np.int32)


def _controls(config: Any, run_dir: Path, *, density: list[float] | None, key: list[str] | None,
              pitch_histogram: list[list[float]] | None, key_profiles: dict | None = None) -> np.ndarray | None:
    """Control rows [K, C] for the asked controls, or a clear error when the run cannot take them.

    A key asks for the run's own corpus key profile (``keys.key_histogram``) when it recorded one.
    """
    if key and pitch_histogram:
        raise ConfigError("give --key or --pitch-histogram, not both")
    histograms = [key_histogram(k, key_profiles) for k in key] if key else pitch_histogram
    asked = {"density": density, "pitch_histogram": histograms}
    trained = ", ".join(config.controls) or "none"
    for name, value in asked.items():
        if value and name not in config.controls:
            flag = "--density" if name == "density" else "--key/--pitch-histogram"
            raise RunDirError(f"{flag} needs a model trained with the '{name}' control; {run_dir} was trained "
                              f"with controls: {trained}")
    if not config.controls:
        return None
    missing = [name for name in config.controls if not asked[name]]
    if missing and config.control_dropout == 0:
        raise RunDirError(f"{run_dir} was trained with controls {trained} always present (control_dropout 0): "
                          f"give a value for {', '.join(missing)}")
    return user_controls(config.controls, density=density, histograms=histograms)


def _primer(encoding: PerformanceEncoding, primer: str | Path | None,
            pitches: list[int] | None) -> tuple[np.ndarray, Meter]:
    """Primer events from a MIDI file (with its tempo, time signature and program) or a chord of
    pitches (a quarter note at 120 qpm, velocity 80)."""
    from note_seq import midi_io
    from note_seq.protobuf import music_pb2

    if primer is not None and pitches:
        raise ConfigError("give --primer or --primer-pitches, not both")
    if primer is not None:
        try:
            sequence = midi_io.midi_file_to_note_sequence(str(primer))
        except (OSError, midi_io.MIDIConversionError) as exc:
            raise ConfigError(f"{primer}: not a readable MIDI file ({exc})") from None
        if not any(not note.is_drum for note in sequence.notes):
            what = "only drum notes" if sequence.notes else "no notes"
            raise ConfigError(f"{primer}: {what}; a primer needs pitched notes to continue")
        return encoding.encode(sequence), meter_of(sequence)
    if pitches:
        bad = [p for p in pitches if not 0 <= p <= 127]
        if bad:
            raise ConfigError(f"primer pitches must be MIDI pitches 0..127, got {bad[0]}")
        chord = music_pb2.NoteSequence()
        for pitch in pitches:
            chord.notes.add(pitch=int(pitch), velocity=80, start_time=0.0, end_time=0.5)
        return encoding.encode(chord), Meter()
    return np.zeros(0, np.int32), Meter()


def write_pieces(pieces: list[np.ndarray], encoding: PerformanceEncoding, *, out: Path, max_note_s: float,
                 program: int = 0, primer_events: int = 0, quantize: int | None = None,
                 musicxml: bool = False, meter: Meter = Meter()) -> list[Path]:
    """Decode and write each piece (out, or out-1, out-2, ... for several), plus grid and MusicXML copies.

    ``meter`` (a primer's) sets the tempo, and so the grid, and the time signature written;
    without a tempo one is estimated per piece.
    """
    out = Path(out)
    paths = []
    for k, events in enumerate(pieces):
        path = out if len(pieces) == 1 else out.with_name(f"{out.stem}-{k + 1}{out.suffix or '.mid'}")
        sequence = encoding.decode(events, max_note_s=max_note_s, program=program)
        primer_s = event_steps(events[:primer_events], encoding)[1] / STEPS_PER_SECOND
        markers = ((primer_s, PRIMER_MARKER),) if primer_events > 1 else ()
        qpm = meter.qpm or estimate_qpm(sequence)
        style = {"program": program, "qpm": qpm, "time_signature": meter.time_signature}
        paths.append(write_midi(sequence, path, markers=markers, **style))
        if quantize:
            grid_path = path.with_name(f"{path.stem}.q{quantize}.mid")
            paths.append(write_midi(quantized(sequence, grid=quantize, qpm=qpm), grid_path, markers=markers,
                                    **style))
            if musicxml:
                paths.append(write_musicxml(grid_path, path.with_suffix(".musicxml")))
        elif musicxml:
            grid_path = write_midi(quantized(sequence, grid=16, qpm=qpm), path.with_name(f".{path.stem}.q16.mid"),
                                   **style)
            paths.append(write_musicxml(grid_path, path.with_suffix(".musicxml")))
            grid_path.unlink()
    return paths


def sample_to_midi(model: Any, config: Any, *, out: Path, seconds: float, seed: int) -> list[Path]:
    """A short sample of a model in training (controls absent when it takes any)."""
    controls = user_controls(config.controls) if config.controls else None
    pieces = sample_events(model, config.encoding, seconds=seconds, seed=seed, controls=controls)
    return write_pieces(pieces, config.encoding, out=out, max_note_s=config.max_note_s)


def _load_run(run_dir: str | Path) -> Any:
    """The run of ``run_dir``, kept while its best checkpoint is unchanged (so the sampler stays compiled)."""
    from composer.train.family import get_family

    name = model_name(Path(run_dir))
    if get_family(name).output != "midi":
        raise RunDirError(f"{run_dir}: this run trained '{name}', which does not generate MIDI")
    return _load_checkpoint(str(Path(run_dir).resolve()), checkpoint_path(Path(run_dir), "best"))


@functools.lru_cache(maxsize=4)
def _load_checkpoint(run_dir: str, checkpoint: str | None) -> Any:

    return load_run(run_dir)


def generate(run_dir: str | Path, *, out: str | Path, seconds: float = 30.0, temperature: float = 1.0,
             seed: int | None = None, num: int = 1, primer: str | Path | None = None,
             primer_pitches: list[int] | None = None, density: list[float] | None = None,
             key: list[str] | None = None, pitch_histogram: list[list[float]] | None = None,
             top_p: float | None = None, beam: int | None = None, quantize: int | None = None,
             musicxml: bool = False, program: int | None = None, engine: str | None = None) -> list[Path]:
    """Generate ``num`` MIDI files from the event model (Performance RNN, Music Transformer) of ``run_dir``.

    ``seconds`` of new material follow the primer (kept at the start, with an 'end of primer'
    marker). ``density`` (notes/s), ``key`` ('D minor') or ``pitch_histogram`` (12 numbers) are
    lists spread evenly over the new material; they need a model trained with those controls.
    ``engine`` defaults to the family's first (Performance RNN: "tflite", int8 weights, several
    times faster on CPU), or "tf" for beam search. A primer file's tempo, time signature and
    program are kept (``program`` overrides the last). Returns the paths written.
    """
    checks = {"seconds": (seconds, seconds > 0), "num": (num, num >= 1), "temperature": (temperature, temperature >= 0),
              "top-p": (top_p, top_p is None or 0 < top_p <= 1), "beam": (beam, beam is None or beam >= 1),
              "program": (program, program is None or 0 <= program <= 127),
              "density": (density, all(d >= 0 for d in density or ()))}
    for name, (value, ok) in checks.items():
        if not ok:
            raise ConfigError(f"--{name} out of range: {value!r}")
    if Path(out).suffix.lower() not in MIDI_SUFFIXES:
        raise ConfigError(f"{out}: performance-rnn writes MIDI; give a .mid file (render it to audio with "
                          f"composer render)")
    if quantize is not None:
        check_grid(quantize)
    run = _load_run(run_dir)
    encoding = run.config.encoding
    controls = _controls(run.config, Path(run_dir), density=density, key=key, pitch_histogram=pitch_histogram,
                         key_profiles=run.meta.get("key_profiles"))
    primer_events, meter = _primer(encoding, primer, primer_pitches)
    opening = run.meta.get("opening_velocity_event")
    if opening is not None and not (len(primer_events) and primer_events[0] >= encoding.velocity_offset):
        primer_events = np.concatenate([[opening], primer_events]).astype(np.int32)
    engine = engine or ("tf" if beam and beam > 1 else run.family.engines[0])
    if engine in ENGINES and engine not in run.family.engines:  # an unknown one: sample_events says so
        raise ConfigError(f"--engine {engine}: {run.family.name} runs sample on {', '.join(run.family.engines)}")
    with seconds_bar(seconds) as progress:
        pieces = sample_events(run.model, encoding, num=num, seconds=seconds, temperature=temperature, seed=seed,
                               primer=primer_events, controls=controls, top_p=top_p, beam=beam, engine=engine,
                               progress=progress)
    program = program if program is not None else meter.program or 0
    return write_pieces(pieces, encoding, out=Path(out), max_note_s=run.config.max_note_s, program=program,
                        primer_events=len(primer_events), quantize=quantize, musicxml=musicxml, meter=meter)

