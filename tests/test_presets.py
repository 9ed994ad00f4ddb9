"""Every preset that ships trains, evaluates and generates on real music (the Bach chorales, and
a few of them rendered to audio), with its own augmentation, transposition, stretch and XLA
settings. Only the budget is shrunk: a few steps, small batches, short windows and outputs.

A new family must add its row to SHRINK, or this test fails for its presets.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import yaml

from composer.evaluate.report import evaluate
from composer.generate import generate
from composer.pipeline import render_audio
from composer.train.trainer import train

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PRESETS = sorted(CONFIGS.glob("*/*.yaml"))
BUDGET = ["train.steps=2", "train.batch_size=4", "train.eval_every=2", "train.eval_batches=1",
          "train.checkpoint_every=2", "train.log_every=1", "train.sample_every=2"]
SHRINK = {  # per family: shorter windows and samples, nothing that changes what is learned or how
    "performance-rnn": ["example_events=32", "example_hop=16", "eval_window=64", "sample_seconds=1"],
    "music-transformer": ["example_events=32", "example_hop=16", "eval_window=64", "sample_seconds=1"],
    "lstm-vae": ["sequence_frames=8", "primer_frames=4", "sample_seconds=1", "listen_seconds=1"],
    "samplernn": ["subseq_len=256", "subseqs_per_stretch=2", "sample_seconds=0.25", "listen_seconds=0.25",
                  "listen_skip_seconds=0.1"],
}
SYMBOLIC = {"performance-rnn", "music-transformer"}


@pytest.fixture(scope="module")
def audio_corpus(tmp_path_factory):
    """Three chorales synthesized with fluidsynth: real music for the raw-audio families."""
    from composer.corpus import builtin

    corpus = builtin.build("bach-chorales", "bach-audio", root=tmp_path_factory.mktemp("audio_root"), limit=3)
    render_audio(corpus)
    return corpus


def test_every_family_with_presets_has_a_budget():
    families = {yaml.safe_load(path.read_text())["model"] for path in PRESETS}
    assert families - set(SHRINK) == set(), "add the new family to SHRINK"
    assert {"performance-rnn", "lstm-vae", "samplernn"} <= families


def header_of(preset: Path) -> str:
    return " ".join(line[2:] for line in preset.read_text().splitlines() if line.startswith("# "))


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.stem.startswith("default")],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_default_preset_ships_with_its_budget(preset):
    """Issue 25: the file keeps the header's promise: 30 minutes or its steps."""
    train = yaml.safe_load(preset.read_text())["train"]
    assert train["minutes"] == 30
    assert f"Trains for 30 minutes of wall clock (train.minutes) or {train['steps']:,} steps, whichever comes first" \
        in header_of(preset)


@pytest.mark.parametrize("preset", [p for p in PRESETS if not p.stem.startswith("large")],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_laptop_preset_header_quotes_a_measured_row_or_no_figure(preset):
    """Issue 25: a header's figures come from one script's row, named, in RESULTS.md and presets.json;
    the `default` and `tiny` presets (what a user and the demo run first) each have one."""
    header = header_of(preset)
    named = re.search(r'see benchmarks/RESULTS\.md, row "([\w/]+), ([\w-]+)"', header)
    if named is None:
        assert not preset.stem.startswith(("default", "tiny")), "the header names its presets.py row"
        assert not re.search(r"\d[\d.,]* (nats|bits|min|minutes|s)\b", header), "a figure without its row"
        return
    assert named[1] == f"{preset.parent.name}/{preset.stem}"
    results = (CONFIGS.parent / "benchmarks" / "RESULTS.md").read_text()
    assert f"| `{named[1]}, {named[2]}`" in results, f"RESULTS.md has no row {named[1]}, {named[2]}"
    rows = json.loads((CONFIGS.parent / "benchmarks" / "presets.json").read_text())
    assert any(row["preset"] == f"configs/{named[1]}.yaml" and row["corpus"] == named[2] for row in rows), \
        "the row the header quotes was measured by benchmarks/presets.py"
    assert not re.search(r"\bload \d|\d\s*\w+/s\b", header)  # no loaded machines' timings, no rate-based estimates


@pytest.mark.parametrize("preset", [p for p in PRESETS if p.stem.startswith("large")],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_large_preset_says_it_has_not_run_on_a_gpu(preset):
    header = header_of(preset)
    assert "Not run on a GPU yet" in header and "GPU memory" in header and "mixed" in header
    assert "Expected:" in header


def _preset_benchmark():
    """benchmarks/presets.py as a module (benchmarks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("preset_benchmark", CONFIGS.parent / "benchmarks" / "presets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_preset_benchmark_refuses_a_busy_machine(tmp_path, monkeypatch, capsys):
    bench = _preset_benchmark()
    cores = os.cpu_count()
    monkeypatch.setattr(os, "getloadavg", lambda: (1.6 * cores, 1.0, 1.0))
    monkeypatch.setattr(bench, "ensure_corpus", lambda name, root: None)
    argv = [str(CONFIGS / "performance_rnn" / "tiny.yaml"), "--work", str(tmp_path), "--wait", "0",
            "--results", str(tmp_path / "rows.json")]
    assert bench.main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"presets.py: load average {round(1.6 * cores, 2)} before training on {cores} cores is above 1.5 per core: "
        "no row written; run again on a quieter machine"]
    assert not (tmp_path / "rows.json").exists() and not (tmp_path / "runs").exists()


def test_every_preset_benchmark_row_reads_as_a_table_row():
    bench = _preset_benchmark()
    rows = json.loads((CONFIGS.parent / "benchmarks" / "presets.json").read_text())
    for row in rows:
        line = bench.markdown(row).splitlines()[-1]
        assert line.startswith(f"| {row['date']} | {row['preset']} | {row['corpus']} |") and line.count("|") == 11
        assert (CONFIGS.parent / row["preset"]).is_file() and row["load_after"][0] <= 1.5 * row["cores"]


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_preset_trains_evaluates_and_generates_on_real_music(preset, tmp_path, bach_corpus, request):
    family = yaml.safe_load(preset.read_text())["model"]
    corpus = bach_corpus if family in SYMBOLIC else request.getfixturevalue("audio_corpus")
    run_dir = tmp_path / "run"
    metrics = train(family, corpus=corpus, config_path=preset, run_dir=run_dir, sets=BUDGET + SHRINK[family],
                    progress=False)
    assert metrics["step"] == 2 and np.isfinite(metrics["best"]["eval_loss"])
    assert list((run_dir / "samples").iterdir()), "the sample written during training"

    if family in SYMBOLIC:
        [written] = generate(run_dir, out=tmp_path / "out.mid", seconds=1.0, num=1, seed=1)
        if "density" in yaml.safe_load(preset.read_text()).get("controls", []):  # feedback, ladder and guidance
            for open_loop in (False, True):
                [asked] = generate(run_dir, out=tmp_path / f"asked-{open_loop}.mid", seconds=1.0, seed=1,
                                   density=[8.0], key=["D minor"], open_loop=open_loop)
                assert pretty_midi.PrettyMIDI(str(asked)).get_end_time() >= 0
    else:  # a short primer from the song: the stored 2 s one would cost the big models a minute to warm
        primer = tmp_path / "primer.wav"
        primer_s = 0.1 if family == "samplernn" else 1.0  # LSTM+VAE primers are whole frames
        song = next(iter(corpus.audio("train")))
        sf.write(str(primer), song[: int(primer_s * corpus.sample_rate)], corpus.sample_rate)
        [written] = generate(run_dir, out=tmp_path / "out.wav", seconds=0.5, num=1, seed=1, primer=primer)
    if family in SYMBOLIC:  # two steps teach little: a valid file is asked for, not notes
        assert pretty_midi.PrettyMIDI(str(written)).get_end_time() >= 0
    else:
        assert sf.info(str(written)).frames > 0

    report = evaluate(run_dir, corpus=corpus, generated=(written,), out=tmp_path / "eval", num=1, seconds=0.5)
    assert (tmp_path / "eval" / "report.md").is_file()
    if family in SYMBOLIC:
        assert np.isfinite(report["eval_nll_per_event"]) and report["baseline_nll_per_event"]["ngram"] > 0
    else:
        assert "silence_ratio" in report and "spectral_frechet" in report
