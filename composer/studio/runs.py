"""The Runs tab: every trained run under ``--runs`` with its family, corpus, steps and held-out score.

Reads only the run dir's own files (config.yaml, corpus.json, metrics.json, samples/), the same
ones ``composer generate`` and ``composer evaluate`` rely on, so listing never loads a model; it
asks the registered family only what kind of file the run writes and which options its
``generate`` takes (``composer.generate.options_of``), so the page offers only those.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from composer.errors import ConfigError, RunDirError
from composer.generate import options_of
from composer.studio.workspace import StudioError, Workspace
from composer.train.family import SUFFIXES, get_family
from composer.train.run import CONFIG, CORPUS, METRICS, SAMPLES, model_name

# metrics.json keys that are a family's held-out score, best first (docs/interfaces.md, machine-readable outputs).
_SCORES = ("eval_nll_per_event", "eval_bits_per_sample", "eval_loss")
_MAX_DEPTH = 3


def list_runs(workspace: Workspace) -> list[dict[str, Any]]:
    """One summary per run dir found under the runs folder (up to 3 levels deep), sorted by name."""
    found = []
    if workspace.runs.is_dir():
        for config in sorted(workspace.runs.rglob(CONFIG)):
            run_dir = config.parent
            depth = len(run_dir.relative_to(workspace.runs).parts)
            if 0 < depth <= _MAX_DEPTH and (run_dir / "checkpoints").is_dir():
                found.append(_summary(workspace, run_dir))
    return found


def run_summary(workspace: Workspace, name: str) -> dict[str, Any]:
    """The summary of the run called ``name``; StudioError if there is none or it cannot be read."""
    runs = {run["name"]: run for run in list_runs(workspace)}
    if name not in runs:
        listed = ", ".join(runs) or f"none: train one with `composer train ... --out {workspace.runs}/NAME`"
        raise StudioError(f"unknown run '{name}' (runs under {workspace.runs}: {listed})", status=404)
    if "error" in runs[name]:
        raise StudioError(runs[name]["error"])
    return runs[name]


def find_run(workspace: Workspace, name: str) -> Path:
    """The run dir called ``name`` (its path under the runs folder), checked by ``run_summary``."""
    return workspace.runs / run_summary(workspace, name)["name"]


def run_config(run_dir: Path) -> dict:
    """The run's resolved config as a plain mapping (for controls the page may offer)."""
    return yaml.safe_load((run_dir / CONFIG).read_text()) or {}


def _summary(workspace: Workspace, run_dir: Path) -> dict[str, Any]:
    try:
        model = model_name(run_dir)
        output = SUFFIXES[get_family(model).output]
    except (RunDirError, ConfigError) as exc:
        return {"name": run_dir.relative_to(workspace.runs).as_posix(), "error": str(exc)}
    metrics = _json(run_dir / METRICS)
    score = next(((key, metrics[key]) for key in _SCORES if isinstance(metrics.get(key), (int, float))),
                 ("eval_loss", (metrics.get("best") or {}).get("eval_loss")))
    samples = sorted(p for p in (run_dir / SAMPLES).glob("*") if p.suffix in (".mid", ".wav"))
    return {
        "name": run_dir.relative_to(workspace.runs).as_posix(),
        "model": model,
        "corpus": _json(run_dir / CORPUS).get("name"),
        "step": metrics.get("step"),
        "held_out": {"metric": score[0], "value": score[1]},
        "controls": list(run_config(run_dir).get("controls") or []),
        "output": output,
        "options": [option.name for option in options_of(model)],
        "samples": [{"name": p.name, "url": workspace.url(p)} for p in samples[-4:]],
    }


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
