"""The Mix tab: kept stems on tracks, written as a mix spec YAML that ``composer mix`` accepts, then mixed.

Each mix gets its own folder ``session/mixes/<name>/`` holding ``mix.yaml`` (stem paths relative
to it, so ``composer mix session/mixes/<name>/mix.yaml --out x.wav`` renders the same mix),
and what the mixer writes: ``mix.wav``, ``mix.json``, ``mix.png`` and ``stems/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from composer.atomic import atomic_file
from composer.render.mixer import mix
from composer.render.mixspec import parse_spec
from composer.studio.jobs import Job
from composer.studio.schemas import MixRequest
from composer.studio.workspace import StudioError, Workspace, check_name


def mix_spec(workspace: Workspace, request: MixRequest) -> tuple[Path, dict[str, Any]]:
    """The mix folder and the spec mapping, checked by the mixer's own parser before anything is written."""
    folder = workspace.session / "mixes" / check_name(request.name, "mix name")
    kept = workspace.session / "kept"
    stems = []
    for index, track in enumerate(request.tracks, 1):
        source = kept / check_name(track.source, f"track {index} source")
        if not source.is_file():
            raise StudioError(f"track {index}: '{track.source}' is not a kept take of this session", status=404)
        stem = {"source": os.path.relpath(source, folder), "gain_db": track.gain_db, "pan": track.pan,
                "start": track.start, "fade_in": track.fade_in, "fade_out": track.fade_out}
        if track.lufs is not None:
            stem["lufs"] = track.lufs
        stems.append(stem)
    master = {"sample_rate": 44100, "target_lufs": request.target_lufs, "plot": True}
    if request.length is not None:
        master["length"] = request.length
    spec = {"master": master, "stems": stems}
    parse_spec(spec, name=f"{request.name}/mix.yaml", base=folder)
    return folder, spec


def render_mix(folder: Path, spec: dict[str, Any], workspace: Workspace, job: Job) -> dict[str, Any]:
    """The job body: save mix.yaml, then render it through ``composer.render.mixer.mix``."""
    spec_path = folder / "mix.yaml"
    with atomic_file(spec_path) as handle:
        handle.write(yaml.safe_dump(spec, sort_keys=False).encode())
    job.report(f"mixing {len(spec['stems'])} stems", 0.1)
    report = mix(spec_path, out=folder / "mix.wav")
    files = {"spec": spec_path, "wav": folder / "mix.wav", "report": folder / "mix.json", "plot": folder / "mix.png"}
    return {"name": folder.name, "length_s": report["length_s"], "lufs": report["lufs"], "peak_db": report["peak_db"],
            "files": {kind: workspace.url(path) for kind, path in files.items() if path.is_file()}}
