"""Generate, audition and keep: the Generate and Keep tabs over ``composer.generate.generate``.

A generation job writes its takes into ``scratch/<job>/`` exactly as ``composer generate`` would
(``take-1.mid``, ``take-1.q16.mid``, ...), then renders each MIDI take with fluidsynth and draws
it (piano roll, or waveform and spectrogram for audio). Keeping copies one take's files into the
session's ``kept/`` folder beside a sidecar JSON holding the settings and the command that
regenerates it.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

from composer.atomic import atomic_file
from composer.audio_io import write_audio
from composer.generate import check_seconds, generate, options_of
from composer.options import check_values
from composer.render.notation import write_musicxml
from composer.render.plots import plot_file
from composer.render.synth import render_midi
from composer.seeding import resolve_seed
from composer.studio.jobs import GENERATE_LOCK, Job
from composer.studio.runs import run_summary
from composer.studio.schemas import GenerateRequest
from composer.studio.workspace import StudioError, Workspace, check_name

SAMPLE_RATE = 44100
QUANTIZE = 16  # the "quantized MIDI" download: 16th notes
SETTINGS = "settings.json"
FORM_OPTIONS = ("seconds", "temperature", "num", "seed", "top_p", "key", "density")  # the Generate tab's fields
SPREAD = ("key", "density")  # one value on the page; generate takes a list spread over the piece


def generation_options(request: GenerateRequest, primer: Path | None, run: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``composer.generate.generate`` for this request: the form's fields
    that are set, each one the run's family takes (``run["options"]``, from its declaration)."""
    fields = request.model_dump(include=set(FORM_OPTIONS))
    options = {name: [value] if name in SPREAD else value for name, value in fields.items()
               if value is not None and value != ""}
    if primer is not None:
        options["primer"] = primer
    refused = [name for name in options if name not in run["options"]]
    if refused:
        raise StudioError(f"{refused[0]} does not apply to {run['model']} runs (run '{run['name']}')")
    return options


def primer_path(workspace: Workspace, primer_id: str | None) -> Path | None:
    """The uploaded primer ``primer_id`` (from POST /api/primers), or None."""
    if primer_id is None:
        return None
    path = workspace.uploads / f"{check_name(primer_id, 'primer')}.mid"
    if not path.is_file():
        raise StudioError(f"unknown primer '{primer_id}' (upload the MIDI file again)", status=404)
    return path


def save_primer(workspace: Workspace, data: bytes, filename: str) -> dict[str, Any]:
    """Store an uploaded primer if it is a MIDI file with notes; StudioError naming the file otherwise."""
    import pretty_midi

    if not data.startswith(b"MThd"):
        raise StudioError(f"{filename}: not a MIDI file (a primer must be a .mid file)")
    primer_id = secrets.token_hex(8)
    path = workspace.uploads / f"{primer_id}.mid"
    with atomic_file(path) as handle:
        handle.write(data)
    try:
        notes = sum(len(inst.notes) for inst in pretty_midi.PrettyMIDI(str(path)).instruments)
    except Exception as exc:  # noqa: BLE001 (mido and pretty_midi raise many unrelated types on corrupt files)
        path.unlink()
        raise StudioError(f"{filename}: not a readable MIDI file ({type(exc).__name__}: {exc})") from None
    if not notes:
        path.unlink()
        raise StudioError(f"{filename}: the MIDI file has no notes to continue")
    return {"id": primer_id, "name": filename, "notes": notes}


def start_checks(workspace: Workspace, request: GenerateRequest) -> tuple[Path, Path | None]:
    """Checks that need no model, so a bad request fails at once: the run, the length, the options its
    family takes, its controls, the key, the primer."""
    summary = run_summary(workspace, request.run)
    check_seconds(request.seconds, audio=summary["output"] != ".mid", name="seconds")
    primer = primer_path(workspace, request.primer)
    check_values(options_of(summary["model"]), generation_options(request, primer, summary), fields=True)
    for control, value in (("density", request.density), ("pitch_histogram", request.key)):
        if value and control not in summary["controls"]:
            raise StudioError(f"run '{request.run}' was not trained with the {control} control "
                              f"(it takes: {', '.join(summary['controls']) or 'none'})")
    if request.key:
        from composer.measures.keys import parse_key

        parse_key(request.key)
    return workspace.runs / summary["name"], primer


def generate_takes(workspace: Workspace, request: GenerateRequest, run_dir: Path, primer: Path | None,
                   job: Job) -> dict[str, Any]:
    """The job body: generate, render and draw ``request.num`` takes into ``scratch/<job>/``."""
    folder = workspace.scratch / job.id
    settings = request.model_dump()
    settings["seed"] = resolve_seed(request.seed)  # drawn here when absent, so the take records it
    summary = run_summary(workspace, request.run)
    options = generation_options(request.model_copy(update={"seed": settings["seed"]}), primer, summary)
    is_midi = summary["output"] == ".mid"
    if "quantize" in summary["options"]:
        options["quantize"] = QUANTIZE
    job.report(f"generating {request.num} x {request.seconds:g} s", 0.05)
    out = folder / f"take{summary['output']}"
    with GENERATE_LOCK:
        generate(run_dir, out=out if request.num > 1 else folder / f"take-1{summary['output']}", **options)
    takes = []
    for k in range(1, request.num + 1):
        job.report(f"rendering take {k} of {request.num}", 0.5 + 0.5 * (k - 1) / request.num)
        takes.append(_finish_take(workspace, folder / f"take-{k}{summary['output']}", is_midi))
    record = {"run": request.run, "run_dir": str(run_dir), "model": summary["model"], "settings": settings,
              "primer": str(primer) if primer else None, "command": _command(run_dir, settings, primer, is_midi)}
    _write_json(folder / SETTINGS, record)
    return {"job": job.id, "settings": settings, "takes": takes}


def _finish_take(workspace: Workspace, path: Path, is_midi: bool) -> dict[str, Any]:
    """Render (MIDI) and draw one take; the URLs the page shows it with."""
    files = {"midi": path} if is_midi else {"wav": path}
    if is_midi:
        files["quantized"] = path.with_name(f"{path.stem}.q{QUANTIZE}.mid")
        files["wav"] = write_audio(path.with_suffix(".wav"), render_midi(path, sample_rate=SAMPLE_RATE),
                                   SAMPLE_RATE, subtype="PCM_16", sync=False)
    files["plot"] = plot_file(path, out=path.with_suffix(".png"))
    return {"take": int(path.stem.rsplit("-", 1)[1]), "files": {k: workspace.url(v) for k, v in files.items()}}


def _command(run_dir: Path, settings: dict, primer: Path | None, is_midi: bool) -> str:
    """The ``composer generate`` command line that regenerates these takes (file take-K is variation K)."""
    parts = [f"composer generate {run_dir} --out take{'.mid' if is_midi else '.wav'}",
             f"--seconds {settings['seconds']:g} --temperature {settings['temperature']:g}",
             f"--num {settings['num']} --seed {settings['seed']}"]
    if settings.get("top_p") is not None:
        parts.append(f"--top-p {settings['top_p']:g}")
    if settings.get("key"):
        parts.append(f"--key '{settings['key']}'")
    if settings.get("density") is not None:
        parts.append(f"--density {settings['density']:g}")
    if primer is not None:
        parts.append(f"--primer {primer}")
    if is_midi:
        parts.append(f"--quantize {QUANTIZE}")
    return " ".join(parts)


def keep(workspace: Workspace, job_id: str, take: int) -> dict[str, Any]:
    """Copy take ``take`` of job ``job_id`` into the session's kept/ folder with a sidecar JSON."""
    folder = workspace.scratch / check_name(job_id, "job")
    record_path = folder / SETTINGS
    if not record_path.is_file():
        raise StudioError(f"unknown or unfinished job '{job_id}'", status=404)
    record = json.loads(record_path.read_text())
    sources = sorted(folder.glob(f"take-{take}.*"))
    if not sources:
        raise StudioError(f"job '{job_id}' has no take {take}", status=404)
    name = f"{record['run'].replace('/', '_')}-{job_id}-{take}"
    kept_dir = workspace.session / "kept"
    files = {}
    for source in sources:
        target = kept_dir / source.name.replace(f"take-{take}", name, 1)
        with atomic_file(target) as handle, source.open("rb") as original:
            shutil.copyfileobj(original, handle)
        files[target.name.split(".", 1)[1]] = target.name
    sidecar = dict(record, take=take, name=name, files=files)
    _write_json(kept_dir / f"{name}.json", sidecar)
    return kept_entry(workspace, kept_dir / f"{name}.json")


def list_kept(workspace: Workspace) -> list[dict[str, Any]]:
    """Every kept take of the session, oldest first."""
    sidecars = sorted((workspace.session / "kept").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return [kept_entry(workspace, path) for path in sidecars]


def kept_entry(workspace: Workspace, sidecar: Path) -> dict[str, Any]:
    """A kept take as the page lists it: name, settings, and a URL per file."""
    record = json.loads(sidecar.read_text())
    urls = {kind: workspace.url(sidecar.parent / name) for kind, name in record["files"].items()}
    stem = record["files"].get("mid") or record["files"]["wav"]
    return {"name": record["name"], "stem": stem, "settings": record["settings"], "run": record["run"],
            "command": record["command"], "sidecar": workspace.url(sidecar), "files": urls,
            "musicxml": f"/api/kept/{record['name']}/musicxml" if "q16.mid" in record["files"] else None}


def musicxml(workspace: Workspace, name: str) -> Path:
    """MusicXML of a kept MIDI take (from its quantized copy), written on first request."""
    kept_dir = workspace.session / "kept"
    grid = kept_dir / f"{check_name(name, 'take')}.q{QUANTIZE}.mid"
    if not grid.is_file():
        raise StudioError(f"no kept MIDI take '{name}'", status=404)
    target = kept_dir / f"{name}.musicxml"
    return target if target.is_file() else write_musicxml(grid, target)


def _write_json(path: Path, value: dict) -> None:
    with atomic_file(path) as handle:
        handle.write((json.dumps(value, indent=2) + "\n").encode())
