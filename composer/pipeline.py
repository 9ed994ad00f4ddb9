"""Steps that join stages: a recording transcribed to a MIDI file, and twins, the same music in the
other form, so each branch can train on any corpus. Audio twins: a corpus's symbolic items
synthesized to audio (for the raw-audio models); MIDI twins: its recordings transcribed to notes
(for the symbolic models). This joins the corpus with the synthesizer and the transcriber, which
know nothing of each other (docs/architecture.md).

A twin's ``source_id`` is the item it was made from and its ``split_key`` and chunk count are that
item's, so a chunk of the piece lands in the same split in both forms. Twins are never made of
twins. A twin that fails is recorded as an error row (``corpus info`` lists it) and made again on
the next run, which skips every item whose twin is stored.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from composer.corpus import ingest
from composer.corpus.importers import Task, error_row, store_audio, store_sequence
from composer.corpus.tfrecord import read_records
from composer.errors import CorpusError
from composer.progress import progress_bar

if TYPE_CHECKING:
    from note_seq.protobuf.music_pb2 import NoteSequence

    from composer.corpus.corpus import Corpus
    from composer.transcribe import NoteOptions


def twin_id(source_id: str, *, kind: str = "render") -> str:
    """Stable id of the ``kind`` ("render" or "transcribe") twin of the item ``source_id``."""
    return hashlib.sha256(f"{kind}:{source_id}".encode()).hexdigest()


def render_audio(corpus: Corpus, *, soundfont: str | os.PathLike | None = None, jobs: int = 1,
                 progress: bool = False) -> ingest.ImportSummary:
    """Add a synthesized audio twin for every symbolic item of ``corpus`` that has none yet (its chunks
    land in the same splits), rendering in ``jobs`` worker processes; one transaction per twin,
    written by this process.

    Raises:
      CorpusError if ``soundfont`` is given but is not a file.
    """
    if soundfont is not None and not Path(soundfont).is_file():
        raise CorpusError(f"soundfont {soundfont} not found (pass an existing .sf2/.sf3 file)")
    render = functools.partial(_render_one, soundfont=None if soundfont is None else str(soundfont))
    return _add_twins(corpus, "symbolic", render, jobs=jobs, progress=progress, label="rendering")


def transcribe_corpus(corpus: Corpus, *, jobs: int = 1, progress: bool = False) -> ingest.ImportSummary:
    """Add a transcribed MIDI twin (a NoteSequence, by Basic Pitch) for every recording of ``corpus``
    that has none yet, in ``jobs`` worker processes, each running the network on its share of the
    cores. Recordings with nothing to transcribe (silence, noise) become error rows with their reason.
    """
    transcribe = functools.partial(_transcribe_one, threads=max(1, (os.cpu_count() or 1) // max(1, jobs)))
    return _add_twins(corpus, "audio", transcribe, jobs=jobs, progress=progress, label="transcribing")


def _add_twins(corpus: Corpus, kind: str, make: Callable, *, jobs: int, progress: bool,
               label: str) -> ingest.ImportSummary:
    """``make((row, data path), task=...) -> [twin row]`` for each ``kind`` item that is no twin itself and
    has no stored twin, in ``jobs`` processes; each twin is committed in its own transaction."""
    summary = ingest.ImportSummary()
    with corpus.connect() as conn:
        twinned = {row[0] for row in conn.execute(
            "SELECT source_id FROM items WHERE source_id IS NOT NULL AND status = 'ok' AND kind != ?", (kind,))}
    originals = [row for row in corpus.items(kind) if row["source_id"] is None]
    todo = [row for row in originals if row["id"] not in twinned]
    summary.skipped = len(originals) - len(todo)
    task = Task("", "", str(corpus.items_dir), corpus.sample_rate, corpus.chunk_s)
    sources = [(row, str(corpus.item_path(row))) for row in todo]
    with progress_bar(progress, len(todo), label) as advance, corpus.connect() as conn, \
            contextlib.closing(ingest.run_parallel(functools.partial(make, task=task), sources, jobs)) as results:
        for rows in results:
            ingest.record_rows(conn, rows, summary)
            advance()
    return summary


def _twin_row(row: dict, *, kind: str, suffix: str) -> dict:
    """The manifest fields a twin takes from its source ``row``: its split and its chunking."""
    return {"id": twin_id(row["id"], kind=kind), "source": f"{row['source']} ({suffix})", "source_id": row["id"],
            "split_key": row["split_key"], "n_chunks": row["n_chunks"]}


def _render_one(source: tuple[dict, str], *, task: Task, soundfont: str | None) -> list[dict]:
    """Synthesize one symbolic item (its row and data file) and write its FLAC; returns [the twin's
    row] (ok or error). Runs in a worker process."""
    from note_seq import NoteSequence

    from composer.render.synth import render_midi

    row, path = source
    twin = {**_twin_row(row, kind="render", suffix="rendered"), "format": "render", "kind": "audio",
            "source_sample_rate": task.sample_rate, "channels": 2}
    try:
        sequence = NoteSequence.FromString(next(read_records(path)))
        stereo = render_midi(sequence, sample_rate=task.sample_rate, soundfont=soundfont)  # [n_samples, 2]
        return [store_audio(stereo.mean(axis=1), twin, task)]
    except Exception as exc:  # one bad item must not stop the others; reported in the summary
        return [error_row(twin, exc)]


def _transcribe_one(source: tuple[dict, str], *, task: Task, threads: int) -> list[dict]:
    """Transcribe one recording (its row and FLAC) and write its NoteSequence; returns [the twin's row]
    (ok or error). Runs in a worker process, which loads the network once."""
    from composer.transcribe.transcriber import shared_model, transcribe_file

    row, path = source
    twin = {**_twin_row(row, kind="transcribe", suffix="transcribed"), "format": "transcription",
            "kind": "symbolic"}
    try:
        sequence = transcribe_file(path, model=shared_model(threads))
        sequence.total_time = row["duration_s"]  # the recording's length, so both twins chunk alike
        return [store_sequence(sequence, twin, task)]
    except Exception as exc:  # one bad recording must not stop the others; recorded with its reason
        return [error_row(twin, str(exc).replace(f"{path}: ", "", 1))]  # the twin's source names the recording


def transcribe_to_midi(audio: str | os.PathLike, out: str | os.PathLike, *, options: NoteOptions | None = None,
                       on_progress: Callable[[float], None] | None = None) -> tuple[Path, NoteSequence]:
    """Transcribe one recording and write it as an editable MIDI file (one piano track, its tempo
    estimated from the notes); the MIDI path and the notes. The one path for ``composer transcribe``
    and the studio's Transcribe tab, so both write the same file."""
    from composer.symbolic.midi import estimate_qpm, write_midi
    from composer.transcribe import NoteOptions, transcribe_file

    sequence = transcribe_file(audio, options=options or NoteOptions(), on_progress=on_progress)
    return write_midi(sequence, Path(out), program=0, qpm=estimate_qpm(sequence)), sequence
