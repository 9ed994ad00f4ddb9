"""The Transcribe tab: a song uploaded from the page becomes editable MIDI, drawn as a piano roll and
rendered so it can be heard beside the original.

The upload is stored in ``uploads/`` under a random name; the job writes ``scratch/<job>/<song>.mid``
(what ``composer transcribe SONG --out SONG.mid`` writes), ``<song>.png`` and ``<song>.wav``.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from composer.atomic import atomic_file
from composer.audio_io import AUDIO_EXTENSIONS, write_audio
from composer.errors import ComposerError
from composer.render.plots import plot_file
from composer.render.synth import render_midi
from composer.studio.jobs import Job
from composer.studio.workspace import StudioError, Workspace

MAX_SONG_BYTES = 200 << 20  # about 20 minutes of CD-quality wav
UPLOAD_BLOCK_BYTES = 1 << 20
SAMPLE_RATE = 44100


async def save_song(workspace: Workspace, upload: Any) -> dict[str, Any]:
    """Store an uploaded recording (a FastAPI ``UploadFile``) block by block; StudioError naming the file
    when it is no audio type composer reads or is too large."""
    filename = upload.filename or "upload"
    suffix = Path(filename).suffix.lower()
    if suffix not in AUDIO_EXTENSIONS:
        raise StudioError(f"{filename}: not an audio file (use {', '.join(AUDIO_EXTENSIONS)})")
    song_id = secrets.token_hex(8)
    path = workspace.uploads / f"{song_id}{suffix}"
    size = 0
    with atomic_file(path) as handle:
        while block := await upload.read(UPLOAD_BLOCK_BYTES):
            size += len(block)
            if size > MAX_SONG_BYTES:
                raise StudioError(f"{filename}: a song may be at most {MAX_SONG_BYTES >> 20} MB", status=413)
            handle.write(block)
    return {"id": song_id, "name": filename, "path": path}


def transcribe_song(workspace: Workspace, song: dict[str, Any], job: Job) -> dict[str, Any]:
    """The job body: transcribe, then draw and render the MIDI; the URLs the page shows it with.
    A recording with nothing to transcribe fails the job with the one-line reason, naming the upload."""
    from composer.pipeline import transcribe_to_midi
    from composer.transcribe.transcriber import recording_seconds

    path, name = song["path"], song["name"]
    total_s = max(recording_seconds(path), 1e-9)
    job.report(f"transcribing {name}", 0.02)
    folder = workspace.scratch / job.id
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).stem)[:60] or "song"
    try:
        midi, sequence = transcribe_to_midi(path, folder / f"{stem}.mid", on_progress=lambda done_s: job.report(
            f"transcribing {name}", 0.02 + 0.88 * min(1.0, done_s / total_s)))
    except ComposerError as exc:
        raise StudioError(str(exc).replace(str(path), name)) from None
    job.report("drawing and rendering the MIDI", 0.9)
    files = {"midi": midi, "plot": plot_file(midi, out=folder / f"{stem}.png"),
             "wav": write_audio(folder / f"{stem}.wav", render_midi(midi, sample_rate=SAMPLE_RATE), SAMPLE_RATE,
                                subtype="PCM_16", sync=False)}
    pitches = [note.pitch for note in sequence.notes]
    return {"name": name, "notes": len(pitches), "seconds": round(sequence.total_time, 2),
            "pitch_range": [min(pitches), max(pitches)],
            "files": {kind: workspace.url(file) for kind, file in files.items()}}
