"""Event sampling speed of two checkouts side by side: events/s of each (family, engine, batch).

Usage: .venv/bin/python benchmarks/sampling_old_vs_new.py OLD_ROOT NEW_ROOT [--repeats 5]
       (e.g. OLD_ROOT from ``git worktree add /tmp/old-main <commit>``)

One long-lived worker per checkout (its own PYTHONPATH) builds the default presets' models
(untrained weights: a step costs the same whatever the weights) and samples on request; the
driver warms every configuration up in both (compiles, int8 exports), then asks the two in turn,
alternating which goes first, so a shared machine's load hits both alike. Pieces run 120 s at
batch 1 and 60 s at batch 16; events are counted up to each row's end; medians of ``repeats``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = [("performance-rnn", "tflite", 1), ("performance-rnn", "tflite", 16), ("performance-rnn", "tf", 1),
           ("performance-rnn", "tf", 16), ("music-transformer", "tf", 1), ("music-transformer", "tf", 16)]
SECONDS = {1: 120.0, 16: 60.0}


def worker() -> None:
    """Read 'family engine batch seconds seed' lines, answer 'events/s' lines."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from composer.config import load as load_config
    from composer.symbolic.controls import control_dim
    from composer.train.family import get_family

    try:
        from composer.symbolic.sampler import sample_events
    except ImportError:  # before the one sampling loop
        from composer.symbolic.sampling import sample_events
    configs = Path(os.environ["PYTHONPATH"]) / "configs"
    models = {}
    for name in ("performance-rnn", "music-transformer"):
        family = get_family(name)
        config = load_config(configs / name.replace("-", "_") / "default.yaml", family.config_class)
        meta = {"num_classes": config.encoding.num_classes, "controls": list(config.controls),
                "control_dim": control_dim(config.controls)}
        models[name] = (config, family.build_model(config, meta))
    print("ready", flush=True)
    for line in sys.stdin:
        name, engine, batch, seconds, seed = line.split()
        config, model = models[name]
        start = time.perf_counter()
        pieces = sample_events(model, config.encoding, num=int(batch), seconds=float(seconds), seed=int(seed),
                               engine=engine)
        print(f"{sum(len(p) for p in pieces) / (time.perf_counter() - start):.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", help="one configuration, e.g. music-transformer:tf:1")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    roots = {"old": args.old.resolve(), "new": args.new.resolve()}
    configs = [c for c in CONFIGS if not args.only or ":".join(map(str, c)) == args.only]
    workers = {name: subprocess.Popen([sys.executable, __file__, "--worker"], cwd=root, text=True,
                                      env=dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="2"),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
               for name, root in roots.items()}
    for process in workers.values():
        assert process.stdout.readline().strip() == "ready"

    def ask(name: str, family: str, engine: str, batch: int, seconds: float, seed: int) -> float:
        workers[name].stdin.write(f"{family} {engine} {batch} {seconds} {seed}\n")
        workers[name].stdin.flush()
        return float(workers[name].stdout.readline())

    print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    for config in configs:
        for name in workers:
            ask(name, *config, SECONDS[config[2]] / 10, 0)  # compile, export
    rates = {(config, name): [] for config in configs for name in workers}
    for repeat in range(args.repeats):
        for config in configs:
            for name in (list(workers) if repeat % 2 == 0 else list(workers)[::-1]):
                rates[(config, name)].append(ask(name, *config, SECONDS[config[2]], repeat + 1))
    print(f"end {time.strftime('%H:%M', time.gmtime())} UTC, load average {os.getloadavg()[0]:.1f}")
    for config in configs:
        old, new = (statistics.median(rates[(config, name)]) for name in workers)
        print(f"{config[0]:17s} {config[1]:6s} batch {config[2]:2d}: old {old:8.0f}  new {new:8.0f} events/s  "
              f"new/old {new / old:.2f}")
    for process in workers.values():
        process.stdin.close()
        process.wait()


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker()
    else:
        main()
