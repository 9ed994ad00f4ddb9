"""Corpus import throughput: the bach-chorales recipe with jobs=1 and jobs=2 vs a plain parse loop.

The baseline only parses each MusicXML file with note_seq (no hashing, storing or manifest);
ours does the full import (hash, parse, TFRecord write, one SQLite transaction per item) into a
fresh corpus each round. Rounds interleave the three so a shared machine's load hits all alike.
Each run reports wall seconds and CPU seconds (this process plus its workers): on a machine whose
cores are busy with other work, wall time shows the contention and CPU time shows the cost.

    .venv/bin/python benchmarks/corpus_import.py [--limit N] [--repeats R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import note_seq  # noqa: E402  (imported before timing so no run pays the import)

from composer.corpus import builtin  # noqa: E402


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its reaped workers) of ``fn(*args)``."""
    wall, cpu = time.perf_counter(), _cpu_s()
    fn(*args)
    return time.perf_counter() - wall, _cpu_s() - cpu


def plain_loop(files: list) -> None:
    for path in files:
        note_seq.musicxml_file_to_sequence_proto(str(path))


def ours(limit: int | None, jobs: int) -> None:
    with tempfile.TemporaryDirectory() as root:
        corpus = builtin.build("bach-chorales", "bench", root=root, limit=limit, jobs=jobs)
        assert corpus.info()["errors"] == []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N chorales (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    files = builtin.load_recipe("bach-chorales").files()[: args.limit]
    runs = {"plain note_seq loop": [], "ours jobs=1": [], "ours jobs=2": []}
    for _ in range(args.repeats):
        runs["plain note_seq loop"].append(timed(plain_loop, files))
        runs["ours jobs=1"].append(timed(ours, args.limit, 1))
        runs["ours jobs=2"].append(timed(ours, args.limit, 2))
    print(f"{len(files)} MusicXML files, {args.repeats} rounds, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    baseline = statistics.median(wall for wall, _ in runs["plain note_seq loop"])
    for name, timings in runs.items():
        wall = statistics.median(w for w, _ in timings)
        cpu = statistics.median(c for _, c in timings)
        print(f"{name:20s} wall median {wall:6.2f} s  {len(files) / wall:5.1f} files/s  {baseline / wall:4.2f}x plain  "
              f"| CPU median {cpu:6.2f} s ({1000 * cpu / len(files):5.1f} ms/file)  "
              f"(wall runs: {', '.join(f'{w:.1f}' for w, _ in timings)})")


if __name__ == "__main__":
    main()
