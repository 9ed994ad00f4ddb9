"""The demo's own pieces: its mix spec is valid and mixes, and finished runs are recognised."""

import json
from pathlib import Path

import pytest
import yaml

from composer.demo import _finished, mix_stems
from composer.render.mixer import mix


def test_demo_mix_works_from_relative_paths_and_its_spec_from_anywhere(tmp_path, monkeypatch, make_midi, make_wav):
    """Regression: `make demo` (out/demo, relative) wrote stem paths the mixer could not find."""
    monkeypatch.chdir(tmp_path)
    out = Path("out/demo")
    stems = {"piano": make_midi(out / "generated" / "piano.mid", repeats=6),
             "strings": make_midi(out / "generated" / "strings.mid", pitches=(50, 53, 57), repeats=10, program=48),
             "texture": make_wav(out / "generated" / "texture.wav", seconds=30.0),
             "samplernn": make_wav(out / "generated" / "samplernn.wav", seconds=8.0, f0_hz=100.0)}
    report = mix_stems(out, stems)
    assert report["length_s"] == pytest.approx(32.0)
    assert report["lufs"] == pytest.approx(-16.0, abs=0.5) and report["peak_db"] <= -1.0 + 1e-6
    assert [s["source"] for s in yaml.safe_load((out / "mix.yaml").read_text())["stems"]] == [
        "generated/piano.mid", "generated/strings.mid", "generated/texture.wav", "generated/samplernn.wav"]
    monkeypatch.chdir(tmp_path / "out")  # the spec a user edits mixes from any working directory
    again = mix(Path("demo/mix.yaml"), out=Path("again.wav"))
    assert again["lufs"] == pytest.approx(report["lufs"], abs=0.01)


@pytest.mark.parametrize("metrics, steps, finished", [
    ({"step": 300}, 300, True),
    ({"step": 200}, 300, False),
    ({"step": 300, "interrupted": True}, 300, False),
    (None, 300, False),
])
def test_finished_runs_are_reused_and_unfinished_ones_resumed(tmp_path, metrics, steps, finished):
    (tmp_path / "config.yaml").write_text(f"model: performance-rnn\ntrain: {{steps: {steps}}}\n")
    if metrics is not None:
        (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    assert _finished(tmp_path) is finished


def test_the_transcription_stage_scores_renderings_against_their_own_notes(corpus_root, tmp_path, make_midi, capsys):
    from composer.corpus import Corpus
    from composer.demo import transcribe_chorales
    from composer.pipeline import render_audio

    corpus = Corpus.create("audio", root=corpus_root, sample_rate=16000)
    corpus.import_paths([make_midi(tmp_path / "scale.mid", repeats=2),
                         make_midi(tmp_path / "low.mid", pitches=(43, 47, 50, 55, 59, 62), note_s=0.4)])
    render_audio(corpus)
    scores = transcribe_chorales(tmp_path / "out", corpus)
    assert sorted(piece["piece"] for piece in scores["pieces"]) == ["low", "scale"]
    assert scores["onset_f1_mean"] >= 0.8 and {p.name for p in (tmp_path / "out" / "transcribed").iterdir()} == {
        "scale.mid", "low.mid", "scores.json"}
    assert "mean onset F1" in capsys.readouterr().out
    assert transcribe_chorales(tmp_path / "out", corpus) == scores  # a second demo run reuses it
