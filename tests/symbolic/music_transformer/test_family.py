"""The Music Transformer family: presets, training through the harness, and the CLI from train to evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import yaml
from typer.testing import CliRunner

from composer.cli import app
from composer.config import load
from composer.errors import ConfigError
from composer.symbolic.music_transformer.family import FAMILY, MusicTransformerConfig
from composer.symbolic.sampler import sample_events
from composer.train.family import FAMILIES, get_family

PRESETS = Path(__file__).resolve().parents[3] / "configs" / "music_transformer"


@pytest.mark.parametrize("preset, shape, control_dim", [
    ("tiny", (2, 128, 128), 0), ("tiny_conditioned", (2, 128, 128), 29), ("default", (3, 192, 256), 0),
    ("large", (8, 512, 2048), 0)])
def test_presets_build_run_and_sample(preset, shape, control_dim):
    config = load(PRESETS / f"{preset}.yaml", MusicTransformerConfig)
    assert (config.layers, config.width, config.span) == shape
    if preset == "large":
        return  # GPU-sized: its config is checked, the small ones are built
    meta = {"num_classes": 388, "controls": list(config.controls), "control_dim": control_dim}
    model = FAMILY.build_model(config, meta)
    batch = {"events": tf.zeros([2, 9], tf.int32), "targets": tf.ones([2, 9], tf.int32), "weights": tf.ones([2, 9])}
    if control_dim:
        batch["controls"] = tf.zeros([2, 9, control_dim])
    assert model(batch).shape == (2, 9, 388)
    assert 0 < float(FAMILY.compute_loss(model, batch, training=False)) < 20
    controls = np.zeros((1, control_dim), np.float32) if control_dim else None
    (piece,) = sample_events(model, config.encoding, seconds=0.3, seed=1, controls=controls)
    assert piece.dtype == np.int32 and len(piece) >= 2


def test_registered_and_config_checked():
    assert get_family("music-transformer") is FAMILY and "music-transformer" in FAMILIES
    with pytest.raises(ConfigError, match="width 100 must be a multiple of heads 3"):
        MusicTransformerConfig(model="music-transformer", width=100, heads=3)
    with pytest.raises(ConfigError, match="model must be 'music-transformer'"):
        MusicTransformerConfig(model="performance-rnn")


def _tiny_config(tmp_path: Path, **train: int) -> Path:
    """The tiny preset with a shorter schedule (same network, optimizer and data)."""
    raw = yaml.safe_load((PRESETS / "tiny.yaml").read_text())
    raw["train"].update(train)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.slow
def test_tiny_preset_loss_goes_down(bach_corpus, tmp_path):
    from composer.train.trainer import train

    config = _tiny_config(tmp_path, steps=80, eval_every=40, checkpoint_every=40, eval_batches=4)
    metrics = train("music-transformer", corpus=bach_corpus, config_path=config, run_dir=tmp_path / "run",
                    progress=False)
    losses = [h["eval_loss"] for h in metrics["history"] if h.get("eval_loss") is not None]
    assert len(losses) == 2 and losses[1] < losses[0] < np.log(388)
    assert losses[1] < np.log(388) - 1.0  # well below a uniform guess


@pytest.mark.slow
def test_cli_train_generate_evaluate(bach_corpus, tmp_path):
    config = _tiny_config(tmp_path, steps=30, eval_every=30, checkpoint_every=30, eval_batches=2)
    root, run = str(Path(bach_corpus.path).parent), str(tmp_path / "run")
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "music-transformer", "--corpus", bach_corpus.name, "--root", root,
                                  "--config", str(config), "--out", run])
    assert trained.exit_code == 0, trained.output
    generated = runner.invoke(app, ["generate", run, "--out", str(tmp_path / "piece.mid"), "--seconds", "3",
                                    "--num", "2", "--seed", "4", "--top-p", "0.95"])
    assert generated.exit_code == 0, generated.output
    assert (tmp_path / "piece-1.mid").is_file() and (tmp_path / "piece-2.mid").is_file()
    refused = runner.invoke(app, ["generate", run, "--out", str(tmp_path / "x.mid"), "--engine", "tflite"])
    assert refused.exit_code == 1 and "music-transformer runs sample on tf" in str(refused.exception)
    evaluated = runner.invoke(app, ["evaluate", run, "--root", root, "--generated", str(tmp_path / "piece-1.mid"),
                                    "--out", str(tmp_path / "eval"), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["model"] == "music-transformer" and metrics["eval_nll_per_event"] < np.log(388)
    assert set(metrics["baseline_nll_per_event"]) == {"unigram", "ngram"} and metrics["feature_overlap"]
    by_position = metrics["nll_by_position"]
    assert list(by_position["model"]) == ["0-128", "128-512", "512-1024", "1024-2048"]
    assert by_position["model"]["0-128"] < np.log(388) and len(by_position) == 2  # the model and the n-gram
    reaching = metrics["eval_windows_by_position"]
    assert list(reaching) == list(by_position["model"]) and reaching["0-128"] >= reaching["128-512"] >= 0
    assert "eval windows reaching the band" in (tmp_path / "eval" / "report.md").read_text()
    assert set(metrics["copying"]) == {"generated", "eval (reference)"}
    assert 0 <= metrics["copying"]["eval (reference)"]["ngram_share_in_train"] <= 1
    assert "## Copying" in (tmp_path / "eval" / "report.md").read_text()
