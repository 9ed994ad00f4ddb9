"""Train a Performance RNN on a folder of your own MIDI and export MIDI for your editor.

    python examples/train_on_my_midi.py ~/midi/einaudi --out runs/einaudi
    python examples/train_on_my_midi.py ~/midi/einaudi --out runs/try --config configs/performance_rnn/tiny.yaml

Re-running continues an unfinished training from its last checkpoint. The generated pieces land
in RUN_DIR/generated/: a performance MIDI for your DAW, a copy snapped to a 16th-note grid and
MusicXML for notation software.
"""

import argparse
from pathlib import Path

from common import add_run_options

from composer.corpus import Corpus
from composer.generate import generate
from composer.train.trainer import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("midi_dir", type=Path, help="folder of .mid/.midi files (walked recursively)")
    add_run_options(parser, preset="performance_rnn/default.yaml")
    parser.add_argument("--corpus", help="corpus name (default: the folder's name)")
    parser.add_argument("--num", type=int, default=4, help="pieces to generate")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    corpus = Corpus.create(args.corpus or args.midi_dir.name, root=args.root)
    print(corpus.import_paths([args.midi_dir], jobs=2, progress=True).line())
    train("performance-rnn", corpus=corpus, config_path=args.config, run_dir=args.out, steps=args.steps,
          resume=(args.out / "checkpoints").is_dir(), progress=True)
    paths = generate(args.out, out=args.out / "generated" / "piece.mid", num=args.num, seconds=args.seconds,
                     quantize=16, musicxml=True)
    print("\n".join(str(path) for path in paths))


if __name__ == "__main__":
    main()
