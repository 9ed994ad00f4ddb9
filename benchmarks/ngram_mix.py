"""Sampling speed with the n-gram mixture beside without it: events/s per (run, engine, batch).

Usage: python benchmarks/ngram_mix.py RUN_DIR [RUN_DIR ...] [--repeats 3] [--seconds 20]

Each run dir must be trained with ``ngram_mix`` (its n-gram and weight come from the run dir,
fitted at first use). Every engine of the run's family is timed at batch 1 and 16, with and
without the mixture in turn (alternating which goes first, so a shared machine's load hits both
alike), after a warm-up of each; events are counted up to each row's end; medians of ``repeats``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from composer.evaluate.markdown import weights_text
from composer.symbolic.heldout import mixture_of
from composer.symbolic.sampler import sample_events
from composer.train.run import load_run

BATCHES = (1, 16)


def rate(run, mixture, *, engine: str, batch: int, seconds: float, seed: int) -> float:
    """Events per second of one sampling call (all rows' events, primer excluded)."""
    start = time.perf_counter()
    pieces = sample_events(run.model, run.config.encoding, num=batch, seconds=seconds, seed=seed, engine=engine,
                           temperature=run.config.temperature, ngram=mixture)
    return sum(len(p) - 1 for p in pieces) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="music per row at batch 1 (half at 16)")
    args = parser.parse_args()
    print("| run | engine | batch | without (events/s) | with the mixture | with / without |")
    print("|---|---|---|---|---|---|")
    for run_dir in args.runs:
        run = load_run(run_dir)
        mixture, record = mixture_of(run)
        for engine in run.family.engines:
            for batch in BATCHES:
                seconds = args.seconds if batch == 1 else args.seconds / 2
                for mix in (None, mixture):  # warm-up: compiles, int8 export, n-gram tables
                    rate(run, mix, engine=engine, batch=batch, seconds=1.0, seed=0)
                rates = {"without": [], "with": []}
                for repeat in range(args.repeats):
                    order = [("without", None), ("with", mixture)][::1 if repeat % 2 == 0 else -1]
                    for name, mix in order:
                        rates[name].append(rate(run, mix, engine=engine, batch=batch, seconds=seconds, seed=repeat))
                without, with_ = (statistics.median(rates[k]) for k in ("without", "with"))
                print(f"| {run_dir} ({run.family.name}, {record['order']}-gram, {weights_text(record)}) | {engine} "
                      f"| {batch} | {without:,.0f} | {with_:,.0f} | {with_ / without:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
