"""Generating MIDI from a trained event model's run: options checked, controls and primer built,
events sampled by the one loop of ``sampler.py``, pieces decoded and written.

``composer generate`` samples the Performance RNN on its int8 engine and the Music Transformer on
the float32 one (a family's ``engines``, default first); beam search, top-p and classifier-free
guidance run on either.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from composer.errors import ConfigError, RunDirError
from composer.measures.keys import key_histogram
from composer.progress import seconds_bar
from composer.render.notation import write_musicxml
from composer.seeding import resolve_seed
from composer.symbolic.controls import densities, density_ladder, event_steps, hidden, user_controls
from composer.symbolic.encoding import STEPS_PER_SECOND, PerformanceEncoding
from composer.symbolic.engines import ENGINES
from composer.symbolic.midi import (
    PRIMER_MARKER,
    Meter,
    check_grid,
    estimate_qpm,
    meter_of,
    quantized,
    write_midi,
)
from composer.symbolic.sampler import sample_events
from composer.train.run import checkpoint_path, load_run, model_name

MIDI_SUFFIXES = (".mid", ".midi")
OPENING_STREAM = 1  # the opening velocities draw from a stream of their own, apart from the events' draws


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


def _unguided(config: Any, run_dir: Path, controls: np.ndarray | None, *, pitches_asked: bool) -> np.ndarray:
    """The control rows guidance pushes away from: the asked ``controls`` [K, C] with the pitch-class
    histogram hidden, or, when no key or histogram is asked, the row [C] with every control hidden.

    Guidance then sharpens the key alone: on the chorales it lifted the asked key's hit rate,
    while guiding density too overshot the rarer densities (benchmarks/RESULTS.md). Only a model
    trained with controls sometimes hidden (control_dropout > 0) has learned such rows.
    """
    if not config.controls or config.control_dropout == 0:
        raise ConfigError(f"--guidance needs a model trained with controls and control_dropout > 0; {run_dir} was "
                          f"trained with controls: {', '.join(config.controls) or 'none'}, "
                          f"control_dropout {config.control_dropout:g}")
    if pitches_asked and controls is not None:
        return hidden(controls, config.controls, "pitch_histogram")
    return user_controls(config.controls)[0]


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


def opening_velocities(meta: dict, *, num: int, seed: int) -> np.ndarray | None:
    """Each piece's opening velocity event [num], drawn from the corpus's shares (None: no velocities).

    Runs trained before the distribution was recorded hold only the commonest event.
    """
    if "opening_velocities" not in meta:
        legacy = meta.get("opening_velocity_event")
        return None if legacy is None else np.full(num, legacy, np.int32)
    if not meta["opening_velocities"]:
        return None
    events, shares = np.array(meta["opening_velocities"]).T
    rng = np.random.default_rng([seed, OPENING_STREAM])
    # Systematic sampling: one random offset, num evenly spaced points through the shares' CDF, so
    # a batch holds each velocity within one piece of its share (20 independent draws stray by 10%).
    points = (rng.random() + np.arange(num)) / num
    draws = np.minimum(np.searchsorted(np.cumsum(shares / shares.sum()), points, side="right"), len(events) - 1)
    return events[rng.permutation(draws)].astype(np.int32)


def generate(run_dir: str | Path, *, out: str | Path, seconds: float = 30.0, temperature: float | None = None,
             seed: int | None = None, num: int = 1, primer: str | Path | None = None,
             primer_pitches: list[int] | None = None, density: list[float] | None = None,
             key: list[str] | None = None, pitch_histogram: list[list[float]] | None = None,
             top_p: float | None = None, beam: int | None = None, quantize: int | None = None,
             musicxml: bool = False, program: int | None = None, engine: str | None = None,
             guidance: float | None = None, open_loop: bool = False, ngram_mix: bool | None = None) -> list[Path]:
    """Generate ``num`` MIDI files from the event model (Performance RNN, Music Transformer) of ``run_dir``.

    ``seconds`` of new material follow the primer (kept at the start, with an 'end of primer'
    marker). ``density`` (notes/s), ``key`` ('D minor') or ``pitch_histogram`` (12 numbers) are
    lists spread evenly over the new material; they need a model trained with those controls.
    An asked ``density`` is held by feedback (``sampler.py``); ``open_loop`` gives the model the
    asked density as it is.
    ``guidance`` > 1 pushes the asked controls harder (classifier-free guidance; needs a model
    trained with ``control_dropout`` > 0). ``temperature`` and ``guidance`` default to the run's
    preset (guidance only where a key or histogram is asked). ``engine`` defaults to the family's first (Performance
    RNN: "tflite", int8 weights, faster on CPU). A primer file's tempo, time signature and program
    are kept (``program`` overrides the last). ``ngram_mix`` mixes the run's n-gram into every step
    (default: as the run's config says; it needs a run trained with ``ngram_mix``). Returns the paths written.
    """
    if Path(out).suffix.lower() not in MIDI_SUFFIXES:
        raise ConfigError(f"{out}: performance-rnn writes MIDI; give a .mid file (render it to audio with "
                          f"composer render)")
    if quantize is not None:
        check_grid(quantize)
    run = _load_run(run_dir)
    encoding = run.config.encoding
    controls = _controls(run.config, Path(run_dir), density=density, key=key, pitch_histogram=pitch_histogram,
                         key_profiles=run.meta.get("key_profiles"))
    asked_density = None
    if density and not open_loop:
        asked_density = densities(controls, run.config.controls)
        controls = density_ladder(controls, run.config.controls)
    temperature = run.config.temperature if temperature is None else temperature
    if guidance is None and (key or pitch_histogram):
        guidance = run.config.guidance
    unconditional = None if guidance is None else _unguided(run.config, Path(run_dir), controls,
                                                            pitches_asked=bool(key or pitch_histogram))
    primer_events, meter = _primer(encoding, primer, primer_pitches)
    seed = resolve_seed(seed)
    openings = None
    if not (len(primer_events) and primer_events[0] >= encoding.velocity_offset):
        openings = opening_velocities(run.meta, num=num, seed=seed)
        if openings is not None:
            primer_events = np.concatenate([openings[:1], primer_events]).astype(np.int32)
    engine = engine or run.family.engines[0]
    if engine in ENGINES and engine not in run.family.engines:  # an unknown one: sample_events says so
        raise ConfigError(f"--engine {engine}: {run.family.name} runs sample on {', '.join(run.family.engines)}")
    mixture = None
    if run.config.ngram_mix if ngram_mix is None else ngram_mix:
        from composer.symbolic.heldout import mixture_of

        mixture = mixture_of(run)[0]
    with seconds_bar(seconds) as progress:
        pieces = sample_events(run.model, encoding, num=num, seconds=seconds, temperature=temperature, seed=seed,
                               primer=primer_events, controls=controls, top_p=top_p, beam=beam, guidance=guidance,
                               unconditional=unconditional, density=asked_density, engine=engine,
                               openings=openings, ngram=mixture, progress=progress)
    program = program if program is not None else meter.program or 0
    return write_pieces(pieces, encoding, out=Path(out), max_note_s=run.config.max_note_s, program=program,
                        primer_events=len(primer_events), quantize=quantize, musicxml=musicxml, meter=meter)

