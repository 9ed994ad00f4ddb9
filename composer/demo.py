"""The main job end to end: corpus, three tiny models, generated stems, a mix and a report, and the
rendered chorales transcribed back to MIDI.

Every stage is skipped when its output is already there, so a second run is fast and an
interrupted run picks up where it stopped (training resumes from its last checkpoint).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

import yaml

from composer.errors import ComposerError
from composer.train.run import CONFIG, METRICS

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SYMBOLIC_CORPUS = "bach-chorales"
AUDIO_CORPUS = "bach-chorales-audio"
AUDIO_PIECES = 24  # chorales rendered to audio for the raw-audio models
TRANSCRIBED_PIECES = 4  # of those renderings, transcribed back to MIDI and scored against their score

# (run name, model family, preset)
RUNS = (
    ("performance-rnn", "performance-rnn", CONFIGS / "performance_rnn" / "tiny_conditioned.yaml"),
    ("lstm-vae", "lstm-vae", CONFIGS / "lstm_vae" / "tiny.yaml"),
    ("samplernn", "samplernn", CONFIGS / "samplernn" / "tiny.yaml"),
)


def _stage(title: str) -> Callable:
    """Decorate a demo stage so it prints its title and wall time."""
    def wrap(func: Callable) -> Callable:
        def run(*args, **kwargs):
            print(f"\n== {title}", flush=True)
            start = time.perf_counter()
            result = func(*args, **kwargs)
            print(f"   done in {time.perf_counter() - start:.0f} s", flush=True)
            return result
        return run
    return wrap


@_stage("1/7 corpora: Bach chorales from music21's bundled data, and an audio rendering of some")
def build_corpora(root: Path | None):
    """Build (or reuse) the symbolic corpus and a small rendered-audio corpus."""
    from composer.corpus import Corpus, builtin
    from composer.pipeline import render_audio

    def reuse_or_build(name: str, limit: int | None) -> Corpus:
        try:
            corpus = Corpus.open(name, root=root)
            if corpus.info()["items"]["total"] > 0:
                print(f"   reusing corpus '{name}' at {corpus.path}")
                return corpus
        except ComposerError:
            pass
        corpus, files = builtin.prepare("bach-chorales", name, root=root, limit=limit)
        print(f"   '{name}': {corpus.import_paths(files, jobs=2, progress=True).line()}")
        return corpus

    symbolic = reuse_or_build(SYMBOLIC_CORPUS, None)
    audio = reuse_or_build(AUDIO_CORPUS, AUDIO_PIECES)
    rendered = render_audio(audio, jobs=2, progress=True)  # only what an interrupted run left
    print(f"   '{audio.name}' rendered: {rendered.line()}")
    return symbolic, audio


def _finished(run_dir: Path) -> bool:
    """True when ``run_dir`` holds a run trained to its configured number of steps."""
    metrics_path, config_path = run_dir / METRICS, run_dir / CONFIG
    if not (metrics_path.is_file() and config_path.is_file()):
        return False
    metrics = json.loads(metrics_path.read_text())
    steps = (yaml.safe_load(config_path.read_text()) or {}).get("train", {}).get("steps")
    return not metrics.get("interrupted") and steps is not None and metrics.get("step", 0) >= steps


@_stage("2/7 training the tiny presets (Performance RNN, LSTM+VAE, SampleRNN)")
def train_models(out: Path, symbolic, audio) -> dict[str, Path]:
    """Train each tiny preset, resuming a run an earlier demo left unfinished."""
    from composer.train.trainer import train

    run_dirs = {}
    for run_name, family, preset in RUNS:
        run_dir = out / "runs" / run_name
        corpus = symbolic if family == "performance-rnn" else audio
        if _finished(run_dir):
            print(f"   reusing {run_dir}")
        else:
            print(f"   {family} ({preset.name}) on '{corpus.name}'", flush=True)
            train(family, corpus=corpus, config_path=preset, run_dir=run_dir,
                  resume=(run_dir / "checkpoints").is_dir(), progress=True)
        run_dirs[run_name] = run_dir
    return run_dirs


@_stage("3/7 generating stems")
def generate_stems(out: Path, run_dirs: dict[str, Path]) -> dict[str, Path]:
    """Two MIDI stems (one conditioned on a key), an LSTM+VAE texture and a SampleRNN stem."""
    from composer.generate import generate

    stems_dir = out / "generated"
    prnn = run_dirs["performance-rnn"]
    stems = {
        "piano": generate(prnn, out=stems_dir / "piano.mid", seconds=30, temperature=0.9, seed=1,
                          program=0, quantize=16)[0],
        "strings": generate(prnn, out=stems_dir / "strings.mid", seconds=30, temperature=1.0, seed=2,
                            key=["D minor"], program=48, quantize=16)[0],
        "texture": generate(run_dirs["lstm-vae"], out=stems_dir / "texture.wav", seconds=30, seed=3)[0],
        "samplernn": generate(run_dirs["samplernn"], out=stems_dir / "samplernn.wav", seconds=8, seed=4)[0],
    }
    for name, path in stems.items():
        print(f"   {name}: {path}")
    return stems


def mix_spec(stems: dict[str, Path], *, spec_dir: Path) -> dict:
    """The demo's mix: MIDI stems in front, generated audio as quieter layers (levels as LUFS).

    Stem paths are written relative to ``spec_dir``, the folder the spec is saved in, which is
    what the mixer resolves them against: the spec works from any working directory.
    """
    source = {name: os.path.relpath(Path(path).resolve(), Path(spec_dir).resolve()) for name, path in stems.items()}
    return {
        "master": {"sample_rate": 44100, "length": 32, "target_lufs": -16.0, "ceiling_db": -1.0, "bit_depth": 16},
        "stems": [
            {"source": source["piano"], "program": 0, "lufs": -20.0, "pan": -0.3, "fade_out": 2.0},
            {"source": source["strings"], "program": 48, "lufs": -23.0, "pan": 0.3, "start": 2.0,
             "fade_in": 1.0, "fade_out": 2.0},
            {"source": source["texture"], "lufs": -30.0, "fade_in": 3.0, "fade_out": 3.0},
            {"source": source["samplernn"], "lufs": -32.0, "start": 12.0, "fade_in": 1.0, "fade_out": 1.0},
        ],
    }


@_stage("4/7 rendering and mixing")
def mix_stems(out: Path, stems: dict[str, Path]) -> dict:
    """Write the spec a user can edit, then mix it."""
    from composer.atomic import write_text_atomic
    from composer.render.mixer import mix

    spec_path = out / "mix.yaml"
    write_text_atomic(spec_path, yaml.safe_dump(mix_spec(stems, spec_dir=out), sort_keys=False))
    report = mix(spec_path, out=out / "mix.wav")
    print(f"   {out / 'mix.wav'}: {report['length_s']:.1f} s, {report['lufs']:.1f} LUFS, "
          f"peak {report['peak_db']:.1f} dBFS")
    return report


@_stage("5/7 evaluating against the corpus and baselines")
def evaluate_runs(out: Path, run_dirs: dict[str, Path], stems: dict[str, Path], root: Path | None) -> None:
    """One report per model family: the Performance RNN on a fresh set of pieces (its two stems are too few
    for feature statistics), the audio models on the stems the demo generated."""
    from composer.evaluate.report import evaluate

    generated = {"performance-rnn": [], "lstm-vae": [stems["texture"]], "samplernn": [stems["samplernn"]]}
    for run_name, run_dir in run_dirs.items():
        metrics = evaluate(run_dir, root=root, generated=tuple(generated[run_name]), out=out / "eval" / run_name,
                           seconds=None if generated[run_name] else 30.0)
        print(f"   {run_name}: {out / 'eval' / run_name / 'report.md'}")
        for key in ("eval_nll_per_event", "baseline_nll_per_event", "eval_bits_per_sample",
                    "baseline_bits_per_sample", "eval_loss", "baseline_eval_loss"):
            if key in metrics:
                print(f"     {key}: {metrics[key]}")


@_stage("6/7 pictures")
def plot_outputs(out: Path, stems: dict[str, Path]) -> None:
    """A piano roll or spectrogram for each stem and the mix."""
    from composer.render.plots import plot_file

    for path in [*stems.values(), out / "mix.wav"]:
        plot_file(path, out=out / "plots" / f"{Path(path).stem}.png")
    print(f"   {out / 'plots'}")


@_stage("7/7 transcription: rendered chorales back to MIDI (Basic Pitch), scored against their own notes")
def transcribe_chorales(out: Path, audio) -> dict:
    """Transcribe a few of the audio corpus's renderings and score each against the chorale it was
    rendered from (mir_eval onset F1 at 50 ms); the MIDI goes to ``out/transcribed``."""
    import numpy as np
    from note_seq import NoteSequence

    from composer.atomic import write_text_atomic
    from composer.corpus.tfrecord import read_records
    from composer.symbolic.midi import write_midi
    from composer.transcribe import transcribe_file, upstream
    from composer.transcribe.score import note_scores
    from composer.transcribe.transcriber import shared_model

    folder = out / "transcribed"
    if (folder / "scores.json").is_file():
        print(f"   reusing {folder}")
        return json.loads((folder / "scores.json").read_text())
    scores = {"pieces": [], "audio_s": 0.0, "transcribe_s": 0.0}
    shared_model()  # the network and Basic Pitch's modules load before the clock starts: the speed is per piece
    upstream.submodule("note_creation")
    sources = {row["id"]: row for row in audio.items("symbolic")}
    for twin in [row for row in audio.items("audio") if row["source_id"] in sources][:TRANSCRIBED_PIECES]:
        source = sources[twin["source_id"]]
        reference = NoteSequence.FromString(next(read_records(audio.item_path(source))))
        start = time.perf_counter()
        estimate = transcribe_file(audio.item_path(twin))
        scores["transcribe_s"] += time.perf_counter() - start
        scores["audio_s"] += estimate.total_time
        name = Path(source["source"]).stem
        write_midi(estimate, folder / f"{name}.mid")
        piece = {"piece": name, **note_scores(reference, estimate)}
        scores["pieces"].append(piece)
        print(f"   {name}: onset F1 {piece['onset']['f1']:.2f} (with offsets {piece['onset_offset']['f1']:.2f}), "
              f"{piece['estimated_notes']} notes found of {piece['reference_notes']}")
    for key in ("onset", "onset_offset"):
        scores[f"{key}_f1_mean"] = float(np.mean([piece[key]["f1"] for piece in scores["pieces"]]))
    print(f"   mean onset F1 {scores['onset_f1_mean']:.2f}, with offsets {scores['onset_offset_f1_mean']:.2f}; "
          f"{scores['audio_s'] / scores['transcribe_s']:.0f}x real time; MIDI in {folder}")
    write_text_atomic(folder / "scores.json", json.dumps(scores, indent=2))
    return scores


def run_demo(out: Path, *, root: Path | None = None) -> None:
    """Run every stage into ``out`` and say where everything is."""
    out = Path(out)
    start = time.perf_counter()
    symbolic, audio = build_corpora(root)
    run_dirs = train_models(out, symbolic, audio)
    stems = generate_stems(out, run_dirs)
    mix_stems(out, stems)
    evaluate_runs(out, run_dirs, stems, root)
    plot_outputs(out, stems)
    transcribe_chorales(out, audio)
    print(f"\nDemo finished in {time.perf_counter() - start:.0f} s. Listen to {out / 'mix.wav'}; "
          f"the stems are in {out / 'stems'}, the MIDI in {out / 'generated'} (open it in your editor), "
          f"reports in {out / 'eval'}, transcriptions in {out / 'transcribed'}.\n"
          f"Next: import your own MIDI (composer corpus import DIR --corpus mine) and "
          f"train a default preset (composer train performance-rnn --corpus mine "
          f"--config configs/performance_rnn/default.yaml --out runs/mine).")
