"""The ``composer`` command line: one sub-command per stage, each a thin call into the library.

Every command exits 0 on success, 1 on a user error (one line naming the file and the problem;
``--debug`` shows the traceback) and 2 on a usage error. Heavy imports (TensorFlow) happen
inside the commands so ``composer --help`` stays fast.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from composer.errors import ComposerError
from composer.generate import declared_options
from composer.options import SharedOption, shared_options
from composer.quiet import ignore_ffmpeg_warning

# Plain help (rich_markup_mode=None): rich's panels print a '<bool>' placeholder after every flag.
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="composer: corpora, models, generation, rendering and mixing for MIDI and audio.\n\n"
         "Example: composer corpus builtin bach-chorales --corpus bach-chorales, then composer train "
         "performance-rnn --corpus bach-chorales --config configs/performance_rnn/tiny.yaml --out runs/prnn\n\n"
         "Exit codes: 0 done, 1 a user error (one line; --debug shows the traceback), 2 a usage error, "
         "130 interrupted (Ctrl-C).",
)
corpus_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Build and inspect corpora (MIDI, MusicXML, ABC, audio).\n\n"
                              "Example: composer corpus import ~/midi --corpus mine --jobs 2")
app.add_typer(corpus_app, name="corpus")

_STATE = {"debug": False}
INTERRUPTED = 130  # the shell's convention for a process stopped by Ctrl-C (SIGINT)

RootOption = typer.Option(None, "--root",
                          help="Folder holding corpora (default: $COMPOSER_CORPUS_ROOT, else ./corpora).")
JobsOption = typer.Option(1, "--jobs", min=1, help="Parallel worker processes.")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
    _STATE["debug"] = debug
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ignore_ffmpeg_warning()


def _load_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing on CPU-only machines) muted.

    That chatter is written before TF_CPP_MIN_LOG_LEVEL applies. Listing physical devices does
    not start the runtime, so distribution strategies can still be configured afterwards.
    """
    from composer.quiet import muted_stderr

    with muted_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


# ---------------------------------------------------------------- corpus


@corpus_app.command("import")
def corpus_import(
    sources: list[Path] = typer.Argument(..., help="Files or folders (walked recursively)."),
    corpus: str = typer.Option(..., "--corpus", help="Corpus name (created if new)."),
    root: Optional[Path] = RootOption,
    eval_ratio: float = typer.Option(0.1, "--eval-ratio", min=0.0, max=1.0,
                                     help="Share of chunks held out for evaluation."),
    sample_rate: int = typer.Option(16000, "--sample-rate", min=1000, help="Audio items are stored at this rate (Hz)."),
    chunk_seconds: float = typer.Option(30.0, "--chunk-seconds", min=1.0, help="Split unit length (s)."),
    split_unit: str = typer.Option("chunk", "--split-unit",
                                   help="'chunk' (default) or 'item' (whole pieces per split)."),
    jobs: int = JobsOption,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if any file fails to import."),
) -> None:
    """Import MIDI, MusicXML, ABC and audio files into a corpus.

    Example: composer corpus import ~/midi/einaudi --corpus einaudi --jobs 2
    """
    from composer.corpus import Corpus
    from composer.corpus.ingest import ImportSummary, collect_files

    collect_files(sources, ImportSummary())  # a missing or empty source fails before a corpus is created
    target = Corpus.create(corpus, root=root, sample_rate=sample_rate, chunk_s=chunk_seconds,
                           eval_ratio=eval_ratio, split_unit=split_unit)
    summary = target.import_paths(sources, jobs=jobs, strict=strict, progress=True)
    _echo_import(target, summary)


@corpus_app.command("builtin")
def corpus_builtin(
    recipe: str = typer.Argument(..., help="Recipe name, e.g. bach-chorales (see corpora/*.yaml)."),
    corpus: str = typer.Option(..., "--corpus", help="Name of the corpus to build."),
    root: Optional[Path] = RootOption,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Import only the first N pieces."),
    split_unit: Optional[str] = typer.Option(
        None, "--split-unit", help="'item' holds whole pieces out for evaluation; 'chunk' (the default) "
                                   "also holds out a share of each short piece."),
    jobs: int = JobsOption,
) -> None:
    """Build a corpus from data a package ships (no download).

    Example: composer corpus builtin bach-chorales --corpus bach --split-unit item
    """
    from composer.corpus import builtin

    target, files = builtin.prepare(recipe, corpus, root=root, limit=limit, split_unit=split_unit)
    _echo_import(target, target.import_paths(files, jobs=jobs, progress=True))


@corpus_app.command("render-audio")
def corpus_render_audio(
    name: str = typer.Argument(..., help="Corpus name."),
    root: Optional[Path] = RootOption,
    soundfont: Optional[Path] = typer.Option(None, "--soundfont",
                                             help="SF2/SF3 file (default: pretty_midi's TimGM6mb)."),
    jobs: int = JobsOption,
) -> None:
    """Add an audio item for each symbolic item, synthesized with fluidsynth.

    Example: composer corpus render-audio bach --jobs 2
    """
    from composer.corpus import Corpus
    from composer.pipeline import render_audio

    summary = render_audio(Corpus.open(name, root=root), soundfont=soundfont, jobs=jobs, progress=True)
    typer.echo(summary.line())
    _echo_errors(summary.errors)


@corpus_app.command("transcribe")
def corpus_transcribe(
    name: str = typer.Argument(..., help="Corpus name."),
    root: Optional[Path] = RootOption,
    jobs: int = JobsOption,
) -> None:
    """Add a MIDI twin (notes by Basic Pitch) for each recording, in the recording's split.

    Re-running skips recordings already transcribed; one that fails is listed with its reason.

    Example: composer corpus transcribe songs --jobs 2
    """
    from composer.corpus import Corpus
    from composer.pipeline import transcribe_corpus

    summary = transcribe_corpus(Corpus.open(name, root=root), jobs=jobs, progress=True)
    typer.echo(summary.line())
    _echo_errors(summary.errors)


@corpus_app.command("list")
def corpus_list(root: Optional[Path] = RootOption, as_json: bool = JsonOption) -> None:
    """List the corpora under the corpus root.

    Example: composer corpus list --json
    """
    from composer.corpus import list_corpora

    corpora = list_corpora(root=root)
    if as_json:
        _print_json(corpora)
        return
    for entry in corpora:
        typer.echo(f"{entry['name']}\t{entry['items']} items\t{entry['path']}")


@corpus_app.command("info")
def corpus_info(name: str = typer.Argument(..., help="Corpus name."), root: Optional[Path] = RootOption,
                as_json: bool = JsonOption) -> None:
    """Counts by kind and split, hours of audio, notes and import errors.

    Example: composer corpus info bach --json
    """
    from composer.corpus import Corpus

    info = Corpus.open(name, root=root).info()
    if as_json:
        _print_json(info)
        return
    items, splits = info["items"], info["splits"]
    transcribed = info["transcribed"]
    typer.echo(f"{info['name']}: {items['total']} items ({items['symbolic']} symbolic, {items['audio']} audio), "
               f"chunks train {splits['train']} / eval {splits['eval']}, "
               f"{info['hours_audio']:.2f} h audio, {info['notes']} notes, {len(info['errors'])} errors"
               + (f", {transcribed['transcribed']}/{transcribed['recordings']} recordings transcribed"
                  if transcribed["recordings"] else ""))
    _echo_errors(info["errors"])


def _echo_import(corpus: Any, summary: Any) -> None:
    """What an import did (items imported, skipped, failed), where the corpus is and its chunks per split,
    then each failure."""
    chunks = {split: sum(kinds.values()) for split, kinds in corpus.chunk_counts().items()}
    typer.echo(f"{summary.line()}; corpus '{corpus.name}' at {corpus.path}: "
               f"chunks train {chunks['train']} / eval {chunks['eval']}")
    _echo_errors(summary.errors)


def _echo_errors(errors: list[dict], *, limit: int = 20) -> None:
    """The first ``limit`` import errors, one line each (``corpus info NAME --json`` has all)."""
    for error in errors[:limit]:
        typer.echo(f"  {error['source']}: {error['reason']}")
    if len(errors) > limit:
        typer.echo(f"  ... and {len(errors) - limit} more (corpus info NAME --json lists all)")


# ---------------------------------------------------------------- train and generate


@app.command()
def train(
    model: str = typer.Argument(..., help="performance-rnn, music-transformer, lstm-vae or samplernn."),
    corpus: str = typer.Option(..., "--corpus", help="Corpus name."),
    config: Path = typer.Option(..., "--config", help="Preset YAML, e.g. configs/performance_rnn/tiny.yaml."),
    out: Path = typer.Option(..., "--out", help="Run directory to create (or resume)."),
    root: Optional[Path] = RootOption,
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Override the config's train.steps."),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Wall-clock budget of the whole run (overrides "
                                            "train.minutes); steps or budget, whichever comes first, stops it. "
                                            "With --resume the run trains for what is left of it."),
    sets: list[str] = typer.Option([], "--set", help="Override a preset value: KEY=VALUE with dotted keys, "
                                   "e.g. --set train.steps=300 --set layers=[512,512]. Repeatable."),
    strategy: str = typer.Option("default", "--strategy", help="default, mirrored or multi-worker (TF_CONFIG)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the run dir's last checkpoint."),
) -> None:
    """Train a model on a corpus through the shared harness (Ctrl-C saves a checkpoint, exit code 130).

    Example: composer train performance-rnn --corpus bach --config configs/performance_rnn/tiny.yaml --out runs/prnn
    --set train.batch_size=16 --minutes 5
    """
    _load_tensorflow_quietly()
    from composer.corpus import Corpus
    from composer.train.trainer import train as run_training

    metrics = run_training(model, corpus=Corpus.open(corpus, root=root), config_path=config, run_dir=out,
                           steps=steps, minutes=minutes, sets=sets, strategy=strategy, resume=resume, progress=True)
    best = metrics.get("best") or {}
    if metrics.get("interrupted"):
        typer.echo(f"interrupted at step {metrics['step']}; checkpoint saved. Continue with the same command "
                   f"plus --resume", err=True)
        raise typer.Exit(INTERRUPTED)
    budget_spent = metrics.get("stopped") == "budget"
    why = f"its budget of {metrics['minutes']:g} minutes spent" if budget_spent else "its last step"
    typer.echo(f"trained {model} to step {metrics['step']} ({why}, {metrics['elapsed_s']:.0f} s); best eval loss "
               f"{best.get('eval_loss')} at step {best.get('step')}; run dir {out}")


def _flag(shared: SharedOption) -> inspect.Parameter:
    """One ``generate`` flag from what the families declare (``composer.options``): their help, each
    labelled with the families it is theirs, and their defaults; given only when the user gives it."""
    option = shared.option
    text = shared.help + (f" [default: {shared.defaults}]" if shared.defaults else "") + \
        (f" [{option.bounds}]" if option.bounded else "")
    if option.kind is bool and option.default is None:  # a switch both ways: unset means "as the run says"
        return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, annotation=Optional[bool],
                                 default=typer.Option(None, f"{option.flag}/--no-{option.flag[2:]}", help=text,
                                                      show_default=False))
    if option.kind is bool:
        return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                                 default=typer.Option(False, option.flag, help=text, show_default=False))
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, annotation=Optional[option.kind],
                             default=typer.Option(None, option.flag, help=text))  # bounds: composer.generate


def _with_declared_flags(command: Any) -> Any:
    """``command`` with a keyword parameter per ``generate`` option any family declares (for typer,
    which reads a command's flags from its signature) in place of its ``**options``."""
    fixed = [p for p in inspect.signature(command, eval_str=True).parameters.values()
             if p.kind is not inspect.Parameter.VAR_KEYWORD]
    shared = shared_options(declared_options())
    command.__signature__ = inspect.Signature([*fixed, *map(_flag, shared)])
    # switches both ways pass an explicit False on; a plain flag's False only means "not given"
    command.switches = frozenset(s.option.name for s in shared if s.option.kind is bool and s.option.default is None)
    return command


@app.command()
@_with_declared_flags
def generate(
    run_dir: Path = typer.Argument(..., help="A run directory written by `composer train`."),
    out: Path = typer.Option(..., "--out", help="Output file (.mid for symbolic models, .wav for audio models)."),
    **options: Any,
) -> None:
    """Generate new material from a trained run.

    Example: composer generate runs/prnn --out out/piece.mid --seconds 30 --temperature 0.9 --num 4
    """
    _load_tensorflow_quietly()
    from composer.generate import generate as generate_from_run

    given = {name: value for name, value in options.items()
             if value is not None and (value is not False or name in generate.switches)}
    for path in generate_from_run(run_dir, out=out, **given):
        typer.echo(str(path))


# ---------------------------------------------------------------- render, mix, plot


@app.command()
def render(
    midi: Path = typer.Argument(..., help="MIDI file."),
    out: Path = typer.Option(..., "--out", help="Output wav (stereo, 16-bit)."),
    soundfont: Optional[Path] = typer.Option(None, "--soundfont",
                                             help="SF2/SF3 file (default: pretty_midi's TimGM6mb)."),
    program: Optional[int] = typer.Option(None, "--program", min=0, max=127,
                                          help="Play every non-drum track with this GM program."),
    sample_rate: int = typer.Option(44100, "--sample-rate", min=8000, help="Output rate (Hz)."),
    reverb: bool = typer.Option(True, "--reverb/--no-reverb", help="fluidsynth reverb."),
    chorus: bool = typer.Option(True, "--chorus/--no-chorus", help="fluidsynth chorus."),
) -> None:
    """Synthesize a MIDI file with fluidsynth.

    Example: composer render out/piece.mid --out out/piece.wav --program 48
    """
    from composer.audio_io import write_audio
    from composer.render.synth import render_midi

    audio = render_midi(midi, sample_rate=sample_rate, soundfont=soundfont, program=program, reverb=reverb,
                        chorus=chorus)
    typer.echo(str(write_audio(out, audio, sample_rate, subtype="PCM_16")))


@app.command()
def transcribe(
    audio: Path = typer.Argument(..., help="Recording (wav, flac, ogg, aiff, mp3)."),
    out: Path = typer.Option(..., "--out", help="MIDI file to write (.mid)."),
    onset_threshold: float = typer.Option(0.5, "--onset-threshold", min=0.01, max=1.0,
                                          help="Lower finds more notes (and more false ones)."),
    frame_threshold: float = typer.Option(0.3, "--frame-threshold", min=0.01, max=1.0,
                                          help="Lower holds notes longer."),
    min_note_ms: float = typer.Option(127.7, "--min-note-ms", min=0.0, max=10000.0,
                                      help="Drop notes shorter than this."),
) -> None:
    """Transcribe one recording to editable MIDI with Spotify's Basic Pitch (polyphonic, any instrument).

    Example: composer transcribe song.wav --out song.mid
    """
    from composer.pipeline import transcribe_to_midi
    from composer.progress import seconds_bar
    from composer.transcribe import NoteOptions
    from composer.transcribe.transcriber import recording_seconds

    if out.suffix.lower() not in (".mid", ".midi"):
        raise ComposerError(f"{out}: --out must be a MIDI file name ending in .mid")
    options = NoteOptions(onset_threshold=onset_threshold, frame_threshold=frame_threshold,
                          min_note_s=min_note_ms / 1000.0)
    with seconds_bar(recording_seconds(audio), label="transcribing") as advance:
        _, sequence = transcribe_to_midi(audio, out, options=options, on_progress=advance)
    pitches = [note.pitch for note in sequence.notes]
    typer.echo(f"{out}: {len(pitches)} note{'s' if len(pitches) != 1 else ''} over {sequence.total_time:.1f} s, "
               f"pitches {min(pitches)}-{max(pitches)}")


@app.command()
def mix(spec: Path = typer.Argument(..., help="Mix spec YAML."),
        out: Path = typer.Option(..., "--out", help="Output wav; stems/ and mix.json are written beside it."),
        stems: Optional[bool] = typer.Option(None, "--stems/--no-stems",
                                             help="Write each processed stem to stems/ "
                                                  "(default: the spec's master.stems, true).")) -> None:
    """Layer stems (wav or MIDI) into one loudness-normalized mix.

    Example: composer mix examples/mix.yaml --out out/mix.wav
    """
    from composer.render.mixer import mix as run_mix

    report = run_mix(spec, out=out, stems=stems)
    typer.echo(f"{out}: {report['length_s']:.1f} s, {report['lufs']:.1f} LUFS, peak {report['peak_db']:.1f} dBFS")


@app.command()
def plot(file: Path = typer.Argument(..., help="MIDI or audio file."),
         out: Path = typer.Option(..., "--out", help="Output PNG.")) -> None:
    """Piano roll for MIDI; waveform and spectrogram for audio.

    Example: composer plot out/piece.mid --out out/piece.png
    """
    from composer.render.plots import plot_file

    plot_file(file, out=out)
    typer.echo(str(out))


# ---------------------------------------------------------------- evaluate and demo


@app.command()
def evaluate(
    run_dir: Optional[Path] = typer.Argument(None, help="A run directory (adds the model's likelihood)."),
    corpus: Optional[str] = typer.Option(None, "--corpus", help="Corpus to compare against (default: the run's)."),
    root: Optional[Path] = RootOption,
    generated: list[Path] = typer.Option([], "--generated", help="Generated files to measure (repeatable)."),
    out: Path = typer.Option(..., "--out", help="Folder for metrics.json, report.md and plots."),
    num: int = typer.Option(10, "--num", min=1, help="Samples to generate when a run dir is given without --generated "
                                                      "(fewer than 10 make noisy statistics)."),
    as_json: bool = JsonOption,
) -> None:
    """Objective measures: likelihood vs baselines, feature distributions, collapse checks.

    Example: composer evaluate runs/prnn --out out/eval --json
    """
    _load_tensorflow_quietly()
    from composer.evaluate.report import evaluate as run_evaluate

    # corpus: a name (default: the run's, from RUN_DIR/corpus.json), opened under --root.
    metrics = run_evaluate(run_dir, corpus=corpus, root=root, generated=tuple(generated), out=out, num=num)
    if as_json:
        _print_json(metrics)
    else:
        typer.echo(f"wrote {out / 'report.md'} and {out / 'metrics.json'}")


@app.command()
def demo(out: Path = typer.Option(Path("out/demo"), "--out", help="Where the demo writes everything."),
         root: Optional[Path] = RootOption) -> None:
    """Run the whole toolkit on the built-in Bach chorales: corpus, train, generate, render, mix, evaluate.

    Example: composer demo --out out/demo
    """
    _load_tensorflow_quietly()
    from composer.demo import run_demo

    run_demo(out, root=root)


@app.command()
def studio(
    root: Path = typer.Option(Path("studio"), "--root", help="Studio folder: sessions (kept takes, mixes), scratch."),
    runs: Path = typer.Option(Path("runs"), "--runs", help="Folder of trained runs to list and generate from."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
) -> None:
    """A local web page to generate, audition, keep and mix, plus an endless study-music radio.

    Example: composer studio --runs runs --port 8000   (then open http://127.0.0.1:8000)
    """
    _load_tensorflow_quietly()
    from composer.studio.server import serve

    typer.echo(f"composer studio on http://{host}:{port} (runs: {runs}, sessions: {root}/sessions); Ctrl-C stops it")
    serve(root, runs, host=host, port=port)


def main() -> None:
    """Console entry point: a user error (ComposerError, or a value the parser rejects) is one
    line and exit code 1; a usage error (unknown or missing option) exit code 2; Ctrl-C 130."""
    try:
        code = app(standalone_mode=False)
    except ComposerError as exc:
        if _STATE["debug"]:
            raise
        _fail(str(exc), 1)
    except typer.exceptions.TyperException as exc:  # raised by the parser: show() prints it as click would
        if type(exc) is typer.BadParameter:  # a value out of range or of the wrong type (not a missing one)
            _fail(exc.format_message(), 1)
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        _fail("interrupted", INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}" if code == 1 else message, err=True)
    sys.exit(code)
