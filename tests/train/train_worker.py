"""Train the toy family in a fresh process, as the CLI would (the distributed and signal tests).

Usage: python train_worker.py RUN_DIR --config FILE [--steps N] [--strategy S] [--resume]
       [--logical-cpus K]   (split the CPU into K logical devices before TensorFlow starts)
Prints the number of replicas, then the metrics as one JSON line.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--config")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--strategy", default="default")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--logical-cpus", type=int, default=0)
    args = parser.parse_args()
    import tensorflow as tf

    if args.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)
    import train_toy

    from composer.train.trainer import train

    metrics = train(train_toy.NAME, corpus=train_toy.FakeCorpus(), config_path=args.config, run_dir=args.run_dir,
                    steps=args.steps, strategy=args.strategy, resume=args.resume, progress=False)
    print(json.dumps(metrics), flush=True)


if __name__ == "__main__":
    main()
