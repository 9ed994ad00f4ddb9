"""The demo's own pieces: its mix spec is valid and mixes, and finished runs are recognised."""

import json

import pytest

from composer.demo import _finished, mix_spec
from composer.render.mixer import mix


def test_demo_mix_spec_mixes_generated_stems(tmp_path, make_midi, make_wav):
    stems = {"piano": make_midi(tmp_path / "piano.mid", repeats=6),
             "strings": make_midi(tmp_path / "strings.mid", pitches=(50, 53, 57), repeats=10, program=48),
             "texture": make_wav(tmp_path / "texture.wav", seconds=30.0),
             "samplernn": make_wav(tmp_path / "samplernn.wav", seconds=8.0, f0_hz=100.0)}
    report = mix(mix_spec(stems), out=tmp_path / "out" / "mix.wav")
    assert report["length_s"] == pytest.approx(32.0)
    assert report["lufs"] == pytest.approx(-16.0, abs=0.5) and report["peak_db"] <= -1.0 + 1e-6
    assert [stem["source"] for stem in report["stems"]] == [str(p) for p in stems.values()]


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
