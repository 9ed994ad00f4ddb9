"""Train the LSTM+VAE on one song and generate a 3-minute ambient stem from it.

    python examples/song_to_ambient.py ~/music/song.mp3 --out runs/song
    python examples/song_to_ambient.py song.wav --out runs/try --config configs/lstm_vae/tiny.yaml --seconds 20

One song is enough: the corpus cuts it into 30 s chunks and holds some out for evaluation.
The DCT preset with truncated coefficients gives calmer, narrower-band textures; raise
--temperature for more variety, lower it for something closer to the song.
"""

import argparse
from pathlib import Path

from composer.corpus import Corpus
from composer.generate import generate
from composer.train.trainer import train

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("song", type=Path, help="an audio file (wav, flac, ogg, aiff, mp3)")
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument("--root", type=Path, help="corpus root (default: ./corpora)")
    parser.add_argument("--config", type=Path, default=REPO / "configs/lstm_vae/dct.yaml")
    parser.add_argument("--steps", type=int, help="override the preset's training steps")
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the stem")
    parser.add_argument("--temperature", type=float, default=1.2)
    args = parser.parse_args()

    corpus = Corpus.create(f"song-{args.song.stem}", root=args.root)
    print(corpus.import_paths([args.song], progress=True).line())
    train("lstm-vae", corpus=corpus, config_path=args.config, run_dir=args.out, steps=args.steps,
          resume=(args.out / "checkpoints").is_dir(), progress=True)
    paths = generate(args.out, out=args.out / "ambient.wav", seconds=args.seconds, temperature=args.temperature)
    print("\n".join(str(path) for path in paths))


if __name__ == "__main__":
    main()
