"""The HTTP API the page calls: each route checks its input, then hands work to the library or a job.

Every failure reaches the page as ``{"error": "<one line>"}`` with a 4xx status (5xx for a bug);
see ``server.install_error_handlers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from composer.studio import mixing, takes, transcribing
from composer.studio.runs import list_runs
from composer.studio.schemas import GenerateRequest, KeepRequest, MixRequest, RadioControls
from composer.studio.workspace import StudioError

MAX_PRIMER_BYTES = 4 << 20
router = APIRouter()


def _studio(request: Request) -> Any:
    return request.app.state.studio


@router.get("/api/info")
def info(request: Request) -> dict[str, str]:
    """The folders as the user would type them: relative to where the studio was started, when inside it."""
    workspace = _studio(request).workspace
    return {name: str(_as_typed(path)) for name, path in
            (("root", workspace.root), ("runs", workspace.runs), ("session", workspace.session))}


def _as_typed(path: Path) -> Path:
    here = Path.cwd()
    return path.relative_to(here) if path.is_relative_to(here) else path


@router.get("/api/runs")
def runs(request: Request) -> list[dict[str, Any]]:
    return list_runs(_studio(request).workspace)


@router.post("/api/primers")
async def upload_primer(request: Request, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    data = await file.read(MAX_PRIMER_BYTES + 1)
    if len(data) > MAX_PRIMER_BYTES:
        raise StudioError(f"{file.filename}: a primer may be at most {MAX_PRIMER_BYTES >> 20} MB", status=413)
    return takes.save_primer(_studio(request).workspace, data, file.filename or "upload")


@router.post("/api/transcribe", status_code=202)
async def start_transcription(request: Request, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """Upload a song; a job transcribes it to MIDI (poll /api/jobs/{id} for its MIDI and piano roll)."""
    studio = _studio(request)
    song = await transcribing.save_song(studio.workspace, file)
    return studio.jobs.submit("transcribe",
                              lambda job: transcribing.transcribe_song(studio.workspace, song, job)).view()


@router.post("/api/generate", status_code=202)
def start_generation(body: GenerateRequest, request: Request) -> dict[str, Any]:
    studio = _studio(request)
    run_dir, primer = takes.start_checks(studio.workspace, body)
    job = studio.jobs.submit("generate", lambda job: takes.generate_takes(studio.workspace, body, run_dir, primer, job))
    return job.view()


@router.get("/api/jobs/{job_id}")
def job_status(job_id: str, request: Request) -> dict[str, Any]:
    job = _studio(request).jobs.get(job_id)
    if job is None:
        raise StudioError(f"unknown job '{job_id}'", status=404)
    return job.view()


@router.post("/api/keep")
def keep(body: KeepRequest, request: Request) -> dict[str, Any]:
    return takes.keep(_studio(request).workspace, body.job, body.take)


@router.get("/api/kept")
def kept(request: Request) -> list[dict[str, Any]]:
    return takes.list_kept(_studio(request).workspace)


@router.get("/api/kept/{name}/musicxml")
def kept_musicxml(name: str, request: Request) -> FileResponse:
    path = takes.musicxml(_studio(request).workspace, name)
    return FileResponse(path, filename=path.name, media_type="application/vnd.recordare.musicxml+xml")


@router.post("/api/mix", status_code=202)
def start_mix(body: MixRequest, request: Request) -> dict[str, Any]:
    studio = _studio(request)
    folder, spec = mixing.mix_spec(studio.workspace, body)
    return studio.jobs.submit("mix", lambda job: mixing.render_mix(folder, spec, studio.workspace, job)).view()


@router.get("/files/{area}/{relative:path}")
def serve_file(area: str, relative: str, request: Request) -> FileResponse:
    path = _studio(request).workspace.resolve(area, relative)
    return FileResponse(path, filename=path.name if request.query_params.get("download") else None)


@router.get("/api/radio")
def radio_status(request: Request) -> dict[str, Any]:
    return _studio(request).radio.status()


@router.post("/api/radio/controls")
def radio_controls(body: RadioControls, request: Request) -> dict[str, Any]:
    return _studio(request).radio.set_controls(body)


@router.post("/api/radio/stop")
def radio_stop(request: Request) -> dict[str, Any]:
    _studio(request).radio.stop()
    return _studio(request).radio.status()


@router.get("/api/radio/stream.wav")
def radio_stream(request: Request) -> StreamingResponse:
    """An endless 16-bit WAV, paced at real time; one listener at a time (a new one takes over)."""
    stream = _studio(request).radio.listen()
    return StreamingResponse(stream, media_type="audio/wav", headers={"Cache-Control": "no-store"})


def json_error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
