"""Parse one source file into manifest rows and stored item files; runs in worker processes.

Each importer turns a file into rows (dicts of ``manifest.ITEM_COLUMNS``) and writes the item
data atomically (``items/<id>.tfrecord`` or ``items/<id>.flac``) before returning, so the parent
can commit a row only once its data is on disk. Bad input never raises: it becomes a row with
``status='error'`` and a one-line reason.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from composer import audio_io
from composer.corpus import abc, splits
from composer.corpus.tfrecord import write_records
from composer.quiet import muted_stderr

if TYPE_CHECKING:
    from note_seq import NoteSequence

SYMBOLIC_FORMATS = {".mid": "midi", ".midi": "midi", ".kar": "midi",
                    ".xml": "musicxml", ".mxl": "musicxml", ".musicxml": "musicxml", ".abc": "abc"}
AUDIO_FORMATS = {ext: ext.lstrip(".") for ext in audio_io.AUDIO_EXTENSIONS}
SUPPORTED = {**SYMBOLIC_FORMATS, **AUDIO_FORMATS}
AUDIO_SUBTYPE = "PCM_24"  # lossless enough for any source bit depth up to 24
PARSER_MODULES = ["note_seq", "note_seq.abc_parser"]  # imported once before workers start


@dataclass(frozen=True)
class Task:
    """One source file to import into the corpus whose item folder is ``items_dir``."""

    path: str
    file_sha: str
    items_dir: str
    sample_rate: int
    chunk_s: float


def file_sha(path: Path) -> str:
    """sha256 hex digest of the file's bytes: the content-hash id of the item(s) it holds."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        for block in iter(lambda: src.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_task(task: Task) -> list[dict]:
    """Import one file; returns its manifest rows (one per ABC tune, else one)."""
    suffix = Path(task.path).suffix.lower()
    base = {"file_sha": task.file_sha, "source": task.path}
    try:
        if suffix == ".abc":
            return _import_abc(task, base)
        if suffix in SYMBOLIC_FORMATS:
            sequence = _parse_symbolic(task.path, SYMBOLIC_FORMATS[suffix])
            return [store_sequence(sequence, {**base, "id": task.file_sha, "format": SYMBOLIC_FORMATS[suffix]},
                                   task)]
        return [_import_audio(task, {**base, "id": task.file_sha, "format": AUDIO_FORMATS[suffix]})]
    except Exception as exc:  # any parser failure is bad input, recorded, never fatal
        return [error_row({**base, "id": task.file_sha, "format": SUPPORTED.get(suffix)}, exc)]


def error_row(row: dict, exc: BaseException | str) -> dict:
    """``row`` marked as failed with a one-line reason."""
    reason = exc if isinstance(exc, str) else (str(exc).strip() or type(exc).__name__)
    reason = reason.splitlines()[0] if reason else "unknown error"
    prefix = f"{row['source']}: "
    reason = reason[len(prefix):] if reason.startswith(prefix) else reason
    return {**row, "status": "error", "error": reason[:300]}


def _parse_symbolic(path: str, fmt: str) -> NoteSequence:
    import note_seq  # imported lazily: it takes seconds, and `corpus list/info` never parse

    if os.path.getsize(path) == 0:
        raise ValueError("empty file (0 bytes)")
    if fmt != "midi":
        return note_seq.musicxml_file_to_sequence_proto(path)
    try:
        return note_seq.midi_file_to_note_sequence(path)
    except note_seq.MIDIConversionError as exc:  # its text is "Midi decoding error <class '...'>: detail"
        kind = re.search(r"<class '(?:\w+\.)*(\w+)'>:\s*(.*)", str(exc))
        detail = (kind.group(2) or ("the file ends early" if kind.group(1) == "EOFError" else kind.group(1))
                  if kind else str(exc))
        raise ValueError(f"not a readable MIDI file: truncated or corrupt ({detail})") from None


def store_sequence(sequence: NoteSequence, row: dict, task: Task) -> dict:
    """Write ``sequence`` as items/<id>.tfrecord and return its complete manifest row."""
    notes = sequence.notes
    if not notes:
        return error_row(row, "no notes")
    if all(note.is_drum for note in notes):
        return error_row(row, "only drum notes: nothing the symbolic models learn from (they read pitched notes)")
    sequence.id = row["id"]
    sequence.filename = Path(row["source"]).name
    pitches = [n.pitch for n in notes]
    velocities = [n.velocity for n in notes]
    write_records(Path(task.items_dir) / f"{row['id']}.tfrecord", [sequence.SerializeToString()])
    return {**row, "kind": "symbolic", "duration_s": sequence.total_time, "status": "ok",
            "n_chunks": splits.n_chunks(sequence.total_time, task.chunk_s),
            "split_key": row.get("split_key") or row["id"],
            "notes": len(notes), "pitch_min": min(pitches), "pitch_max": max(pitches),
            "instruments": len({(n.instrument, n.program, n.is_drum) for n in notes}),
            "velocity_min": min(velocities), "velocity_max": max(velocities)}


def store_audio(audio: np.ndarray, row: dict, task: Task) -> dict:
    """Write mono ``audio`` ([n_samples] at the corpus rate) as items/<id>.flac; return its row."""
    audio_io.write_audio(Path(task.items_dir) / f"{row['id']}.flac", audio, task.sample_rate, subtype=AUDIO_SUBTYPE)
    duration_s = len(audio) / task.sample_rate
    return {**row, "kind": "audio", "duration_s": duration_s, "status": "ok",
            "n_chunks": row.get("n_chunks") or splits.n_chunks(duration_s, task.chunk_s),
            "split_key": row.get("split_key") or row["id"],
            "peak": float(np.max(np.abs(audio))), "rms": float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))}


def _import_audio(task: Task, row: dict) -> dict:
    with muted_stderr():  # mpg123 prints resync notes for every bad frame of an mp3
        audio, _ = audio_io.read_audio(task.path, sample_rate=task.sample_rate, mono=True)  # its errors are clear
        info = sf.info(task.path)
    return store_audio(audio, {**row, "source_sample_rate": info.samplerate, "channels": info.channels}, task)


def _import_abc(task: Task, base: dict) -> list[dict]:
    """One row per tune; a tune neither ABC parser reads is an error row of its own."""
    raw = Path(task.path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    header, tunes = abc.sections(text)
    if not tunes:
        return [error_row({**base, "id": task.file_sha, "format": "abc"}, "no ABC tunes (X: fields) found")]
    rows = []
    for index, lines in enumerate(tunes):
        row = {**base, "id": f"{task.file_sha}-{index}", "format": "abc",
               "source": f"{task.path}#{abc.label(lines, index)}"}
        try:
            rows.append(store_sequence(abc.tune_sequence(header + lines), row, task))
        except Exception as exc:  # bad input never raises: the tune becomes an error row
            rows.append(error_row(row, exc))
    return rows


