"""Measure one preset as shipped: train it on a named real corpus through the CLI, generate, evaluate,
and append one row to benchmarks/presets.json (the figures every preset header quotes).

Usage: python benchmarks/presets.py configs/FAMILY/PRESET.yaml [--corpus NAME] [--work DIR]
           [--seconds S] [--num N] [--results benchmarks/presets.json]

Corpora (built once under WORK/corpora and reused):
  bach-chorales  `composer corpus builtin bach-chorales --split-unit item`: whole chorales held out
  quartets       the music21 quartets and piano pieces (Beethoven, Haydn, Mozart, Joplin, Chopin),
                 120 s chunks, whole pieces held out
  song-rag, song-quartet  one rendered song each (benchmarks/make_songs.py), a fifth held out
The symbolic families default to bach-chorales, the audio families to song-rag.

The preset trains exactly as its file says (its steps, its train.minutes budget): `composer train`,
then `composer generate RUN --num N --seconds S --seed 0` and `composer evaluate RUN --generated DIR`.
The row holds the date, CPU model, cores, load average (1, 5, 15 min) before and after, wall and CPU
seconds (user + sys of the child processes) of each stage, steps reached and why training stopped,
the held-out score beside its baselines, and the family's quality figures (feature-overlap ratio for
MIDI; noise-to-song ratios, whitened flatness and coherence among them, for audio). A row measured
at a load average above 1.5 per core (1 minute, before or after) is refused: one line, exit 1.
Before training it waits up to --wait minutes (default 10) for the load to fall below that.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSER = str(Path(sys.executable).parent / "composer")
MAX_LOAD_PER_CORE = 1.5
MIDI, AUDIO = ".mid", ".wav"
CORPORA = {"bach-chorales": MIDI, "quartets": MIDI, "song-rag": AUDIO, "song-quartet": AUDIO}
DEFAULT_CORPUS = {"performance-rnn": "bach-chorales", "music-transformer": "bach-chorales",
                  "lstm-vae": "song-rag", "samplernn": "song-rag"}
GENERATE = {MIDI: (30.0, 8), AUDIO: (60.0, 2)}  # seconds and files generated per run
QUARTET_FOLDERS = ("beethoven", "haydn", "mozart", "joplin", "chopin")
MEASURED = ("composer", "configs", "corpora", "benchmarks/presets.py", "benchmarks/make_songs.py")  # a row rests on
HELDOUT = (("eval_nll_per_event", "baseline_nll_per_event"), ("eval_bits_per_sample", "baseline_bits_per_sample"),
           ("eval_loss", "baseline_eval_loss"))  # each family's held-out figure and its baselines


class Refused(Exception):
    """A measurement that must not become a row (busy machine, a failed command)."""


def run(command: list[str]) -> dict:
    """Run a command of this checkout to the end; its wall and CPU seconds (user + sys)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(command, env=env)
    try:
        process.wait()
    except KeyboardInterrupt:
        process.wait()  # the child had the same Ctrl-C: training saves its checkpoint and stops within seconds
        raise
    wall_s = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode:
        raise Refused(f"`{' '.join(command)}` failed (exit {process.returncode})")
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall_s": round(wall_s, 1), "cpu_s": round(cpu_s, 1)}


def ensure_corpus(name: str, root: Path) -> None:
    """Build corpus ``name`` under ``root`` unless a finished copy is there."""
    if (root / name / ".built").is_file():
        return
    if name == "bach-chorales":
        run([COMPOSER, "corpus", "builtin", "bach-chorales", "--corpus", name, "--root", str(root),
             "--split-unit", "item", "--jobs", "2"])
    elif name == "quartets":
        import music21

        base = Path(music21.__file__).parent / "corpus"
        run([COMPOSER, "corpus", "import", *[str(base / folder) for folder in QUARTET_FOLDERS], "--corpus", name,
             "--root", str(root), "--chunk-seconds", "120", "--split-unit", "item", "--jobs", "2"])
    else:  # both songs at once, as make_songs.py writes them
        run([sys.executable, str(REPO / "benchmarks" / "make_songs.py"), str(root.parent)])
        for song in ("song-rag", "song-quartet"):
            (root / song / ".built").touch()
    (root / name / ".built").touch()


def commit() -> str:
    """The checkout's commit, marked "+changes" when the code or presets differ from it (then the preset
    measured may not be the one shipped)."""
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    status = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", *MEASURED],
                            capture_output=True, text=True)
    return head.stdout.strip() + ("+changes" if status.stdout.strip() else "")


def cpu_model() -> str:
    """The CPU model name, as `lscpu` shows it."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def check_load(when: str, *, wait_s: float = 0.0) -> list[float]:
    """The load averages (1, 5, 15 min); Refused when the 1-minute one stays above the limit per core
    for ``wait_s`` (a corpus just built here raises it for a minute or two)."""
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + wait_s
    while os.getloadavg()[0] > MAX_LOAD_PER_CORE * cores and time.monotonic() < deadline:
        time.sleep(15)
    load = [round(value, 2) for value in os.getloadavg()]
    if load[0] > MAX_LOAD_PER_CORE * cores:
        raise Refused(f"load average {load[0]} {when} on {cores} cores is above {MAX_LOAD_PER_CORE} per core: "
                      "no row written; run again on a quieter machine")
    return load


def heldout(metrics: dict) -> dict:
    """The held-out figure of the family and its baselines, from evaluate's JSON."""
    for key, baselines in HELDOUT:
        if key in metrics:
            return {"figure": key, "value": metrics[key], "baselines": metrics.get(baselines, {})}
    return {}


def quality(metrics: dict) -> dict:
    """The family's quality figures: feature-overlap ratio (MIDI) or noise-to-song ratios (audio)."""
    keys = ("feature_overlap_ratio", "audio_ratios", "noise_flat_share", "spectral_frechet")
    return {key: metrics[key] for key in keys if key in metrics}


def measure(preset: Path, corpus: str, work: Path, *, seconds: float, num: int, wait_s: float) -> dict:
    """Train, generate and evaluate ``preset`` on ``corpus``; the row (Refused on a busy machine)."""
    model = yaml.safe_load(preset.read_text())["model"]
    root = work / "corpora"
    ensure_corpus(corpus, root)
    stamp = datetime.datetime.now(datetime.timezone.utc)
    run_dir = work / "runs" / f"{preset.parent.name}-{preset.stem}-{corpus}-{stamp:%Y%m%d-%H%M%S}"
    generated = run_dir / "generated"
    commands = {  # run in this order
        "train": [COMPOSER, "train", model, "--corpus", corpus, "--root", str(root), "--config", str(preset),
                  "--out", str(run_dir)],
        "generate": [COMPOSER, "generate", str(run_dir), "--out", str(generated / f"piece{CORPORA[corpus]}"),
                     "--seconds", f"{seconds:g}", "--num", str(num), "--seed", "0"],
        "evaluate": [COMPOSER, "evaluate", str(run_dir), "--root", str(root), "--generated", str(generated),
                     "--out", str(run_dir / "evaluation")],
    }
    load_before = check_load("before training", wait_s=wait_s)
    costs = {stage: run(command) for stage, command in commands.items()}
    load = {"load_before": load_before, "load_after": check_load("after the run")}
    trained = json.loads((run_dir / "metrics.json").read_text())
    figures = json.loads((run_dir / "evaluation" / "metrics.json").read_text())
    shown = preset.resolve().relative_to(REPO) if preset.resolve().is_relative_to(REPO) else preset
    return {
        "preset": str(shown), "model": model, "corpus": corpus, "date": f"{stamp:%Y-%m-%d %H:%M} UTC",
        "cpu": cpu_model(), "cores": os.cpu_count(), "commit": commit(), **load, **costs,
        "generated": {"seconds": seconds, "num": num, "seed": 0},
        "steps": trained["step"], "steps_ceiling": read_steps(run_dir), "minutes": trained.get("minutes"),
        "stopped": trained.get("stopped"), "elapsed_s": trained.get("elapsed_s"),
        "best_step": (trained.get("best") or {}).get("step"), "heldout": heldout(figures), "quality": quality(figures),
        "commands": {stage: " ".join(command) for stage, command in commands.items()}, "run_dir": str(run_dir),
    }


def read_steps(run_dir: Path) -> int:
    """train.steps of the run's resolved config: the ceiling beside the steps reached."""
    return yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["steps"]


def markdown(row: dict) -> str:
    """One line of the table RESULTS.md keeps (header included)."""
    held = row["heldout"]
    baselines = ", ".join(f"{k} {v:.3f}" for k, v in held.get("baselines", {}).items())
    score = f"{held['figure']} {held['value']:.3f} ({baselines})" if held else "n/a"
    found = row["quality"]
    ratios = found.get("audio_ratios", {})
    figures = (f"feature overlap ratio {found['feature_overlap_ratio']:.2f}" if "feature_overlap_ratio" in found else
               f"whitened flatness {ratios.get('whitened_flatness', float('nan')):.2f}, "
               f"coherence {ratios.get('whitened_coherence', float('nan')):.2f}")
    load = f"{row['load_before'][0]} / {row['load_after'][0]}"
    train = f"{row['train']['wall_s'] / 60:.1f} min ({row['train']['cpu_s']:.0f} CPU-s)"
    budget = f"{row['minutes']:g} min" if row["minutes"] else "none"
    header = ("| date | preset | corpus | CPU (cores) | load before / after | train wall (CPU) | budget | steps "
              "(stopped) | held-out | quality |\n|---|---|---|---|---|---|---|---|---|---|\n")
    return header + (f"| {row['date']} | {row['preset']} | {row['corpus']} | {row['cpu']} ({row['cores']}) | {load} | "
                     f"{train} | {budget} | {row['steps']:,} of {row['steps_ceiling']:,} ({row['stopped']}) | "
                     f"{score} | {figures} |")


def append_row(results: Path, row: dict) -> None:
    """Add ``row`` to the JSON list in ``results`` (written atomically)."""
    sys.path.insert(0, str(REPO))
    from composer.atomic import write_text_atomic

    rows = json.loads(results.read_text()) if results.is_file() else []
    write_text_atomic(results, json.dumps(rows + [row], indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", type=Path, help="a preset file, e.g. configs/samplernn/default.yaml")
    parser.add_argument("--corpus", choices=sorted(CORPORA), help="default: bach-chorales (MIDI), song-rag (audio)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/composer-presets"), help="corpora and runs")
    parser.add_argument("--seconds", type=float, help="length of each generated file (MIDI 30, audio 60)")
    parser.add_argument("--num", type=int, help="generated files (MIDI 8, audio 2)")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "presets.json")
    parser.add_argument("--wait", type=float, default=10.0, help="minutes to wait for a quiet machine before training")
    args = parser.parse_args(argv)
    try:
        if not args.preset.is_file():
            raise Refused(f"{args.preset}: no such preset file")
        model = (yaml.safe_load(args.preset.read_text()) or {}).get("model")
        corpus = args.corpus or DEFAULT_CORPUS.get(model)
        if corpus is None:
            raise Refused(f"{args.preset}: model '{model}' has no default corpus; pass --corpus")
        seconds, num = GENERATE[CORPORA[corpus]]
        row = measure(args.preset, corpus, args.work, seconds=args.seconds or seconds, num=args.num or num,
                      wait_s=60 * args.wait)
    except Refused as exc:
        print(f"presets.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("presets.py: interrupted; no row written", file=sys.stderr)
        return 130
    append_row(args.results, row)
    print(markdown(row))
    print(f"row appended to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
