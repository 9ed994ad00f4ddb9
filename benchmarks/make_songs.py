"""Two real "songs" of different textures for the raw-audio benchmarks: a piano rag and a string
quartet from music21's corpus, rendered with the project's fluidsynth renderer and imported as
one-song corpora (16 kHz, the CPU presets' rate).

Usage: python benchmarks/make_songs.py OUT_DIR  (corpora `song-rag` and `song-quartet` under OUT_DIR/corpora;
15 s chunks with a fifth held out, so each song has an eval split of about 36 s)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SONGS = {  # corpus name -> (music21 corpus path, GM program or None for the score's own, seconds kept)
    "song-rag": ("joplin/maple_leaf_rag.mxl", 0, 180.0),
    "song-quartet": ("mozart/k155/movement1.mxl", None, 180.0),
}
SAMPLE_RATE = 16000
COMPOSER = str(Path(sys.executable).parent / "composer")


def make_song(name: str, source: str, program: int | None, seconds: float, out_dir: Path) -> Path:
    """MIDI from the score, rendered to wav and cut to ``seconds``; returns the wav path."""
    import music21
    import soundfile as sf

    midi, wav = out_dir / f"{name}.mid", out_dir / f"{name}.wav"
    music21.corpus.parse(source).write("midi", fp=str(midi))
    command = [COMPOSER, "render", str(midi), "--out", str(wav),
               "--sample-rate", str(SAMPLE_RATE)] + ([] if program is None else ["--program", str(program)])
    subprocess.run(command, check=True)
    audio, rate = sf.read(wav)
    sf.write(wav, audio[: int(seconds * rate)], rate)
    return wav


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (source, program, seconds) in SONGS.items():
        wav = make_song(name, source, program, seconds, out_dir)
        subprocess.run([COMPOSER, "corpus", "import", str(wav), "--corpus", name, "--root", str(out_dir / "corpora"),
                        "--sample-rate", str(SAMPLE_RATE), "--chunk-seconds", "15", "--eval-ratio", "0.2"],
                       check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
