"""Transcription benchmark: scores from music21's bundled corpus, rendered with composer's fluidsynth
stage, transcribed back with Basic Pitch (composer.transcribe) and scored against the score's own
notes with mir_eval.transcription (onset F1 at 50 ms, and onset+offset F1).

    .venv/bin/python benchmarks/transcription.py [--chorales 10] [--only "piano chorales"] [--json FILE]
    .venv/bin/python benchmarks/transcription.py --recordings DIR   # write the three rendered "recordings"

Textures: whole Bach chorales played on piano (program 0), Joplin's Maple Leaf Rag on piano, a
Mozart string quartet movement (violins, viola, cello) and a Haydn quartet movement arranged for a
band (alto sax, guitar, electric piano, bass, plus a drum kit whose hits are not scored). None of
these is in Basic Pitch's training data, and the soundfont (pretty_midi's TimGM6mb) is not the
instruments it learnt from. The speed is seconds of audio per second of transcription wall time,
reading the rendered 44.1 kHz wav from disk, on all cores. ``--recordings DIR`` writes the piano
rag, the band and the quartet as wav files (the corpus in README "Raw songs to MIDI").
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import music21
import numpy as np
from note_seq.protobuf import music_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from composer.audio_io import write_audio  # noqa: E402
from composer.render.synth import render_midi  # noqa: E402
from composer.transcribe import transcribe_file  # noqa: E402
from composer.transcribe.score import note_scores  # noqa: E402

SAMPLE_RATE = 44100
CORPUS = Path(music21.__file__).parent / "corpus"
BAND = [65, 27, 4, 33]  # alto sax, clean electric guitar, electric piano, fingered bass
STRINGS = [40, 40, 41, 42]  # violin, violin, viola, cello
# texture -> (score files under music21's corpus, GM program per part (the last repeats), drums)
TEXTURES = {
    "piano chorales": (None, [0], False),
    "piano rag": (["joplin/maple_leaf_rag.mxl"], [0], False),
    "string quartet": (["mozart/k155/movement1.mxl"], STRINGS, False),
    "band": (["haydn/opus74no1/movement1.mxl"], BAND, True),
}
RECORDINGS = {"piano_rag.wav": "piano rag", "band.wav": "band", "string_quartet.wav": "string quartet"}


def chorales(count: int) -> list[str]:
    """``count`` chorales spread evenly over music21's sorted list (the same ones on every machine)."""
    files = sorted(p.relative_to(CORPUS).as_posix() for p in (CORPUS / "bach").glob("*.mxl"))
    return [files[i * len(files) // count] for i in range(count)]


def arranged(score: str, programs: list[int], drums: bool) -> music_pb2.NoteSequence:
    """The score's notes with part k on ``programs[k]`` (the last repeats), and a drum kit if asked."""
    from note_seq import musicxml_file_to_sequence_proto

    sequence = musicxml_file_to_sequence_proto(str(CORPUS / score))
    parts = sorted({note.part for note in sequence.notes})
    for note in sequence.notes:
        note.program = programs[min(parts.index(note.part), len(programs) - 1)]
        note.instrument = parts.index(note.part)
    if drums:
        _add_drum_kit(sequence)
    return sequence


def _add_drum_kit(sequence: music_pb2.NoteSequence) -> None:
    """Kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on eighths, at the score's first tempo."""
    beat_s = 60.0 / (sequence.tempos[0].qpm if sequence.tempos else 120.0)
    for k in range(int(sequence.total_time / beat_s * 2)):
        start = k * beat_s / 2
        hits = [42] + ([36 if (k // 2) % 2 == 0 else 38] if k % 2 == 0 else [])
        for pitch in hits:
            sequence.notes.add(pitch=pitch, velocity=90 if pitch != 42 else 60, start_time=start,
                               end_time=start + 0.1, is_drum=True, instrument=9)


def texture_scores(texture: str, *, n_chorales: int, workdir: Path) -> dict:
    """Render, transcribe and score every piece of ``texture``; scores summed over its notes."""
    scores, programs, drums = TEXTURES[texture]
    totals = {"pieces": 0, "audio_s": 0.0, "transcribe_s": 0.0, "reference_notes": 0, "estimated_notes": 0}
    per_piece = []
    for score in scores or chorales(n_chorales):
        reference = arranged(score, programs, drums)
        path = workdir / f"{Path(score).stem}.wav"
        write_audio(path, render_midi(reference, sample_rate=SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16")
        start = time.perf_counter()
        estimate = transcribe_file(path)
        elapsed = time.perf_counter() - start
        scored = note_scores(reference, estimate)
        per_piece.append({"score": score, **scored})
        totals["pieces"] += 1
        totals["audio_s"] += estimate.total_time
        totals["transcribe_s"] += elapsed
        totals["reference_notes"] += scored["reference_notes"]
        totals["estimated_notes"] += scored["estimated_notes"]
    for key in ("onset", "onset_offset"):  # each piece weighted by its reference notes
        weights = np.array([piece["reference_notes"] for piece in per_piece], float)
        totals[f"{key}_f1"] = float(np.average([piece[key]["f1"] for piece in per_piece], weights=weights))
        totals[f"{key}_precision"] = float(np.average([piece[key]["precision"] for piece in per_piece],
                                                      weights=weights))
        totals[f"{key}_recall"] = float(np.average([piece[key]["recall"] for piece in per_piece], weights=weights))
    totals["realtime_ratio"] = totals["audio_s"] / totals["transcribe_s"]
    return {"texture": texture, **totals, "per_piece": per_piece}


def write_recordings(out: Path) -> list[Path]:
    """The piano rag, the band and the string quartet as 44.1 kHz stereo wavs in ``out``."""
    written = []
    for name, texture in RECORDINGS.items():
        [score], programs, drums = TEXTURES[texture]
        audio = render_midi(arranged(score, programs, drums), sample_rate=SAMPLE_RATE)
        written.append(write_audio(out / name, audio, SAMPLE_RATE, subtype="PCM_16"))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chorales", type=int, default=10, help="Chorales in the piano chorale texture.")
    parser.add_argument("--only", choices=sorted(TEXTURES), action="append", help="Run only these textures.")
    parser.add_argument("--json", type=Path, help="Also write every figure (per piece too) here.")
    parser.add_argument("--recordings", type=Path, help="Write the three rendered recordings here and stop.")
    args = parser.parse_args()
    if args.recordings:
        for path in write_recordings(args.recordings):
            print(path)
        return
    rows = []
    print("| texture | pieces | audio (s) | onset P / R / F1 | onset+offset F1 | x real time |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for texture in args.only or TEXTURES:
            row = texture_scores(texture, n_chorales=args.chorales, workdir=Path(tmp))
            rows.append(row)
            print(f"| {texture} | {row['pieces']} | {row['audio_s']:.0f} | {row['onset_precision']:.3f} / "
                  f"{row['onset_recall']:.3f} / {row['onset_f1']:.3f} | {row['onset_offset_f1']:.3f} | "
                  f"{row['realtime_ratio']:.1f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
