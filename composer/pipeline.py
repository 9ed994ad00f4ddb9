"""Steps that join stages. Audio twins: a corpus's symbolic items synthesized to audio, so the
raw-audio models can train on any MIDI corpus. This joins the corpus and the synthesizer, which
know nothing of each other (docs/architecture.md).

A twin is an audio item whose ``source_id`` is the symbolic item it was rendered from and whose
``split_key`` is that item's, so a chunk of the piece lands in the same split in both forms.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from composer.corpus import ingest
from composer.corpus.importers import Task, error_row, store_audio
from composer.corpus.tfrecord import read_records
from composer.errors import CorpusError
from composer.progress import progress_bar

if TYPE_CHECKING:
    from composer.corpus.corpus import Corpus


def twin_id(source_id: str) -> str:
    """Stable id of the audio twin of the symbolic item ``source_id``."""
    return hashlib.sha256(f"render:{source_id}".encode()).hexdigest()


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
    summary = ingest.ImportSummary()
    with corpus.connect() as conn:
        rendered = {row[0] for row in conn.execute("SELECT source_id FROM items WHERE source_id IS NOT NULL")}
    todo = [row for row in corpus.items("symbolic") if row["id"] not in rendered]
    summary.skipped = len(corpus.items("symbolic")) - len(todo)
    task = Task("", "", str(corpus.items_dir), corpus.sample_rate, corpus.chunk_s)
    render = functools.partial(_render_one, task=task, soundfont=None if soundfont is None else str(soundfont))
    sources = [(row, str(corpus.item_path(row))) for row in todo]
    with progress_bar(progress, len(todo), "rendering") as advance, corpus.connect() as conn, \
            contextlib.closing(ingest.run_parallel(render, sources, jobs)) as results:
        for [twin] in results:
            if twin["status"] == "ok":
                ingest.record_rows(conn, [twin], summary)
            else:  # not stored, so the next render_audio retries it
                summary.errors.append({"source": twin["source"], "reason": twin["error"]})
            advance()
    return summary


def _render_one(source: tuple[dict, str], *, task: Task, soundfont: str | None) -> list[dict]:
    """Synthesize one symbolic item (its row and data file) and write its FLAC; returns [the twin's
    row] (ok or error). Runs in a worker process."""
    from note_seq import NoteSequence

    from composer.render.synth import render_midi

    row, path = source
    twin = {"id": twin_id(row["id"]), "source": f"{row['source']} (rendered)", "format": "render",
            "source_id": row["id"], "split_key": row["split_key"], "n_chunks": row["n_chunks"],
            "source_sample_rate": task.sample_rate, "channels": 2}
    try:
        sequence = NoteSequence.FromString(next(read_records(path)))
        stereo = render_midi(sequence, sample_rate=task.sample_rate, soundfont=soundfont)  # [n_samples, 2]
        return [store_audio(stereo.mean(axis=1), twin, task)]
    except Exception as exc:  # one bad item must not stop the others; reported in the summary
        return [error_row(twin, exc)]
