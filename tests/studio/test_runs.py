"""The Runs tab reads only a run dir's own files: family, corpus, steps, held-out score, samples."""

from __future__ import annotations

import json

import pytest

from composer.studio.runs import find_run, list_runs
from composer.studio.workspace import StudioError, Workspace


def fake_run(path, *, model="samplernn", metrics=None, samples=()):
    (path / "checkpoints").mkdir(parents=True)
    (path / "config.yaml").write_text(f"model: {model}\n")
    (path / "corpus.json").write_text(json.dumps({"name": "songs"}))
    (path / "metrics.json").write_text(json.dumps(metrics or {}))
    for name in samples:
        (path / "samples").mkdir(exist_ok=True)
        (path / "samples" / name).write_bytes(b"RIFF")
    return path


def test_runs_are_summarized_from_their_files(tmp_path):
    runs = tmp_path / "runs"
    fake_run(runs / "group" / "srnn", metrics={"step": 500, "eval_bits_per_sample": 3.15, "best": {"eval_loss": 2.2}},
             samples=("step-0000250.wav", "step-0000500.wav", "notes.txt"))
    fake_run(runs / "vae", model="lstm-vae", metrics={"step": 40, "best": {"eval_loss": 0.7}})
    (runs / "broken" / "checkpoints").mkdir(parents=True)
    (runs / "broken" / "config.yaml").write_text("seed: 1\n")
    (runs / "not-a-run").mkdir()
    workspace = Workspace.create(tmp_path / "studio", runs)
    listed = {run["name"]: run for run in list_runs(workspace)}
    assert sorted(listed) == ["broken", "group/srnn", "vae"]
    srnn = listed["group/srnn"]
    assert (srnn["model"], srnn["corpus"], srnn["step"], srnn["output"]) == ("samplernn", "songs", 500, ".wav")
    assert srnn["held_out"] == {"metric": "eval_bits_per_sample", "value": 3.15}
    assert "peak_db" in srnn["options"] and "top_p" not in srnn["options"]  # what its family declares
    assert "keep_primer" in listed["vae"]["options"]
    assert [s["url"] for s in srnn["samples"]] == ["/files/runs/group/srnn/samples/step-0000250.wav",
                                                   "/files/runs/group/srnn/samples/step-0000500.wav"]
    assert listed["vae"]["held_out"] == {"metric": "eval_loss", "value": 0.7}
    assert "no 'model' key" in listed["broken"]["error"]
    assert find_run(workspace, "group/srnn") == workspace.runs / "group" / "srnn"
    with pytest.raises(StudioError, match=r"unknown run 'srnn' \(runs under .*: broken, group/srnn, vae\)"):
        find_run(workspace, "srnn")
    with pytest.raises(StudioError, match=r"config.yaml: no 'model' key"):
        find_run(workspace, "broken")
