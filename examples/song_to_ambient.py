"""Train the LSTM+VAE on one song and generate a 3-minute ambient stem from it.

    python examples/song_to_ambient.py ~/music/song.mp3 --out runs/song
    python examples/song_to_ambient.py song.wav --out runs/try --config configs/lstm_vae/tiny.yaml --seconds 20

One song is enough: the corpus cuts it into 30 s chunks and holds some out for evaluation.
The default preset models FFT magnitudes (phase by Griffin-Lim) and samples at its own
temperature (0.5); raise --temperature for more variety, lower it for something closer to the
song. configs/lstm_vae/dct.yaml gives noisier, narrower-band textures.
"""

import argparse
from pathlib import Path

from common import add_run_options

from composer.corpus import Corpus
from composer.generate import generate
from composer.train.trainer import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("song", type=Path, help="an audio file (wav, flac, ogg, aiff, mp3)")
    add_run_options(parser, preset="lstm_vae/default.yaml")
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the stem")
    parser.add_argument("--temperature", type=float, help="latent noise scale (default: the preset's)")
    args = parser.parse_args()

    corpus = Corpus.create(f"song-{args.song.stem}", root=args.root)
    print(corpus.import_paths([args.song], progress=True).line())
    train("lstm-vae", corpus=corpus, config_path=args.config, run_dir=args.out, steps=args.steps,
          resume=(args.out / "checkpoints").is_dir(), progress=True)
    paths = generate(args.out, out=args.out / "ambient.wav", seconds=args.seconds, temperature=args.temperature)
    print("\n".join(str(path) for path in paths))


if __name__ == "__main__":
    main()
