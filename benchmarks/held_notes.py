"""Why generated MIDI holds many notes for seconds: the sampled events, the written files, and the corpus.

For each run and temperature: sample pieces through the shared sampler (controls absent), write them
as ``composer generate`` does, and measure
  - polyphony (notes sounding at an onset: median and 90th percentile) and the share of notes lasting
    4 s or more, read back from the written MIDI files (``composer evaluate``'s features);
  - in the sampled events: the share of note-ons for a pitch already sounding, and of note-offs for a
    pitch not sounding. A model that tracks which notes are on keeps both near the corpus's own.
The corpus's eval split gives the same figures from its encoded chunks.

    .venv/bin/python benchmarks/held_notes.py RUN_DIR [RUN_DIR ...] --corpus bach-chorales [--root DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from composer.corpus import Corpus
from composer.measures import features
from composer.symbolic.cache import encoded_split
from composer.symbolic.controls import user_controls
from composer.symbolic.encoding import NUM_PITCHES
from composer.symbolic.sampler import sample_events
from composer.symbolic.sampling import write_pieces
from composer.train.run import load_run


def orphan_shares(pieces: list[np.ndarray]) -> tuple[float, float]:
    """(note-ons of a sounding pitch / note-ons, note-offs of a silent pitch / note-offs) over int event arrays."""
    ons = restrikes = offs = orphans = 0
    for events in pieces:
        sounding = np.zeros(NUM_PITCHES, int)
        for event in events:
            if event < NUM_PITCHES:
                ons, restrikes = ons + 1, restrikes + (sounding[event] > 0)
                sounding[event] += 1
            elif event < 2 * NUM_PITCHES:
                pitch = event - NUM_PITCHES
                offs, orphans = offs + 1, orphans + (sounding[pitch] == 0)
                sounding[pitch] = max(sounding[pitch] - 1, 0)
    return restrikes / max(ons, 1), orphans / max(offs, 1)


def row(label: str, values: dict[str, np.ndarray], pieces: list[np.ndarray]) -> str:
    polyphony, durations = values["polyphony"], values["note_duration"]
    restrike, orphan = orphan_shares(pieces)
    return (f"| {label} | {np.median(polyphony):g} ({np.percentile(polyphony, 90):g}) | "
            f"{np.mean(durations >= features.HELD_NOTE_S):.1%} | {restrike:.1%} | {orphan:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.9, 0.7, 0.5])
    parser.add_argument("--num", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    corpus = Corpus.open(args.corpus, root=args.root)
    print("| set | notes at once, median (90th pct) | notes >= 4 s | note-ons of a sounding pitch | "
          "note-offs of a silent pitch |\n|---|---|---|---|---|")
    for run_dir in args.runs:
        run = load_run(run_dir)
        controls = user_controls(run.config.controls) if run.config.controls else None
        for temperature in args.temperatures:
            pieces = sample_events(run.model, run.config.encoding, num=args.num, seconds=args.seconds,
                                   temperature=temperature, seed=1, controls=controls, engine=run.family.engines[0])
            with tempfile.TemporaryDirectory() as folder:
                paths = write_pieces(pieces, run.config.encoding, out=Path(folder) / "p.mid",
                                     max_note_s=run.config.max_note_s)
                values = features.set_features(paths)
            print(row(f"{run_dir.name}, step {run.step}, T {temperature:g}", values, pieces))
    encoding = run.config.encoding
    print(row("corpus eval split", features.set_features(corpus.sequences("eval")),
              encoded_split(corpus, "eval", encoding)))


if __name__ == "__main__":
    main()
